-- A sample of guide 003's Creatio AI Knowledge Hub database
-- (ai_knowledge_hub/knowledge_hub.db), used by scripts/demo and the tests.
-- Planted for `opsctl db content-check`: 2 empty content rows (one NULL, one
-- '') and 2 rows duplicating another row's content (3 copies of one value).
BEGIN;
CREATE TABLE content (
	id INTEGER PRIMARY KEY,
	title TEXT NOT NULL,
	content TEXT,
	type TEXT NOT NULL DEFAULT 'article',
	created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX idx_content_type ON content (type);
CREATE INDEX idx_content_created_at ON content (created_at);

CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	name TEXT,
	role TEXT NOT NULL DEFAULT 'reader',
	created_at TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE search_log (
	id INTEGER PRIMARY KEY,
	user_id INTEGER REFERENCES users(id),
	query TEXT NOT NULL,
	results INTEGER NOT NULL DEFAULT 0,
	duration_ms REAL,
	created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX idx_search_log_created_at ON search_log (created_at);

-- 300 distinct articles, guides and FAQs.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO content (title, content, type, created_at)
SELECT 'Knowledge item ' || i,
       'How to use Creatio feature ' || i || ': ' ||
       substr(hex(zeroblob(40 + i % 60)), 1, 80 + i % 120),
       CASE i % 3 WHEN 0 THEN 'article' WHEN 1 THEN 'guide' ELSE 'faq' END,
       datetime('2024-01-01', '+' || i || ' hours')
FROM n;

-- The planted problems.
INSERT INTO content (title, content, type) VALUES
	('Empty draft', NULL, 'article'),
	('Blank page', '', 'guide'),
	('Copied FAQ 1', 'Reset your password from the profile page.', 'faq'),
	('Copied FAQ 2', 'Reset your password from the profile page.', 'faq'),
	('Copied FAQ 3', 'Reset your password from the profile page.', 'faq');

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
INSERT INTO users (email, name, role)
SELECT 'user' || i || '@example.com', 'User ' || i, CASE WHEN i <= 3 THEN 'admin' ELSE 'reader' END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO search_log (user_id, query, results, duration_ms, created_at)
SELECT 1 + i % 50, 'search term ' || (i % 97), i % 11, 5.0 + (i % 37),
       datetime('2024-02-01', '+' || i || ' minutes')
FROM n;

-- Free pages for VACUUM to return: delete old search history.
DELETE FROM search_log WHERE id % 2 = 0;
COMMIT;
