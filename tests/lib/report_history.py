#!/usr/bin/env python3
"""The acceptance history of issue 16 (t890, t820): 90 days written per the
documented schema of STATE_DIR/history.db, and journal lines.  api-server's
memory leaks 8 MB a day under noise, worker's is steady under more noise,
chatbot_db grows 1 GB a day on /data, which fills 20 days after NOW, and three
backups failed in the last month.  Prints the fill date, then the failures'
times.

usage: report_history.py STATE_DIR NOW
"""
import json, random, sqlite3, sys, time
state, now = sys.argv[1], int(sys.argv[2])
DAY, GB, MB = 86400, 1e9, 2**20
random.seed(890)
db = sqlite3.connect(state + "/history.db")
db.executescript("""
CREATE TABLE samples (time INTEGER NOT NULL, task TEXT NOT NULL, name TEXT NOT NULL,
                      labels TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX samples_series ON samples (name, labels, time);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
PRAGMA user_version = 1;
""")
rows = []
start = now - 90 * DAY
size = 200 * GB + 90 * GB + 20 * GB          # full 20 days from now
for h in range(90 * 24):
    t = start + h * 3600
    d = (t - start) / DAY
    rows.append((t, "", "opsctl_service_memory_bytes", 'service="api-server"',
                 400 * MB + 8 * MB * d + random.uniform(-20, 20) * MB))
    rows.append((t, "", "opsctl_service_memory_bytes", 'service="worker"',
                 300 * MB + random.uniform(-30, 30) * MB))
    rows.append((t, "", "opsctl_disk_used_bytes", 'path="/data"',
                 200 * GB + GB * d + random.uniform(-0.05, 0.05) * GB))
    rows.append((t, "", "opsctl_disk_size_bytes", 'path="/data"', size))
for day in range(90):
    t = start + day * DAY + 3 * 3600
    rows.append((t, "db size", "opsctl_db_size_bytes", 'target="chatbot_db"', 150 * GB + GB * day))
    rows.append((t, "backup", "opsctl_backup_duration_seconds", 'target="chatbot_db"',
                 40 + random.uniform(-5, 5)))
db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", rows)
db.commit()
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
failed = {now - 25 * DAY + 7200, now - 12 * DAY + 7200, now - 3 * DAY + 7200}
with open(state + "/journal.jsonl", "w") as j:
    for day in range(89, -1, -1):
        t = now - day * DAY + 7200
        if t > now:
            continue
        bad = t in failed
        line = {"time": iso(t), "command": "backup", "target": "chatbot_db",
                "args": ["opsctl", "backup"], "environment": "prod", "host": "h", "pid": 1,
                "duration_seconds": 41.0, "status": "failed" if bad else "ok",
                "exit": 69 if bad else 0, "figures": {}}
        if bad:
            line["error"] = "pg_dump: connection to server at 10.0.0.7 port 5432 failed (day %d)" % day
        j.write(json.dumps(line) + "\n")
    # a rebuild that ran two months ago and not since: stale
    j.write(json.dumps({"time": iso(now - 60 * DAY), "command": "vector rebuild",
                        "target": "/srv/index.faiss", "status": "ok", "exit": 0,
                        "duration_seconds": 300, "figures": {}}) + "\n")
fill = start + (size - 200 * GB) / GB * DAY
print(time.strftime("%Y-%m-%d", time.gmtime(fill)))
print(" ".join(sorted(iso(t)[:19] + "Z" for t in failed)))
