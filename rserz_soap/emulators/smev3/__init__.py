"""The СМЭВ 3 message exchange with ЕГР ЗАГС and СФР behind it (a stand-in; never imported by the core)."""
