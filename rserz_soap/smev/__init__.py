"""СМЭВ 3: the message exchange on the wire, the hub's client, ЕГР ЗАГС and СФР content, the use cases' ports."""
