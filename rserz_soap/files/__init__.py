"""Exchange file formats: НСИ directories, OPLIST/REPLIST/FLK_P/… (XML edge)."""
