"""The synthetic demo region.

:mod:`.region` generates the population (pure), :mod:`.names` holds the name and place data and the name
grammar, :mod:`.load` builds the reference from НСИ and bulk-loads the population into PostgreSQL.
"""
