-- roster_received (0030) kept the sender and raw event of each meeting's stored roster. Since 0031 roster_history keeps
-- every integration's accepted roster with them (roster_received's rows carried over), and the re-judging of rosters
-- reads only that (handlers/apply.py _rejudge_rosters): roster_received was written with every roster and cleared with
-- every withdrawal, and read by nothing. A meetings process of an older release still writes it: its roster
-- transactions fail once this has run, so apply it as the older processes are replaced.
DROP TABLE IF EXISTS roster_received;
