"""The synthetic demo region: generator (:mod:`.region`), name/place data (:mod:`.names`), loader (:mod:`.load`)."""
