"""The region's information-support system (ИСЗЛ), as a stand-in: receives and records the hub's pushes."""
