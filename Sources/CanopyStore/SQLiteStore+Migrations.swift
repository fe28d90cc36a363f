import GRDB

extension SQLiteStore {
    /// Numbered, append-only migrations. Never edit one that has landed: add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-inventory") { db in
            try db.execute(
                sql: """
                    CREATE TABLE scan (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        started_at DATETIME NOT NULL,
                        finished_at DATETIME,
                        status TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        units_total INTEGER NOT NULL DEFAULT 0,
                        units_failed INTEGER NOT NULL DEFAULT 0,
                        resource_count INTEGER NOT NULL DEFAULT 0,
                        throttled_retries INTEGER NOT NULL DEFAULT 0,
                        errors TEXT NOT NULL DEFAULT '[]'
                    );
                    CREATE TABLE account (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        email TEXT,
                        organizational_unit TEXT,
                        tags TEXT NOT NULL DEFAULT '{}',
                        status TEXT
                    );
                    -- Content-addressed resource states: a snapshot row points at one, so an unchanged
                    -- resource costs one small row per scan, not a copy of its properties.
                    CREATE TABLE resource_version (
                        hash TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        properties TEXT NOT NULL
                    );
                    CREATE TABLE staged_resource (
                        scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
                        uid TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        type TEXT NOT NULL,
                        unit_region TEXT NOT NULL,
                        service TEXT NOT NULL,
                        observed_at DATETIME NOT NULL,
                        version_hash TEXT NOT NULL REFERENCES resource_version(hash),
                        PRIMARY KEY (scan_id, uid)
                    );
                    CREATE TABLE snapshot_resource (
                        scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
                        uid TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        type TEXT NOT NULL,
                        unit_region TEXT NOT NULL,
                        service TEXT NOT NULL,
                        observed_at DATETIME NOT NULL,
                        version_hash TEXT NOT NULL REFERENCES resource_version(hash),
                        PRIMARY KEY (scan_id, uid)
                    );
                    CREATE TABLE current_resource (
                        uid TEXT PRIMARY KEY,
                        provider TEXT NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        type TEXT NOT NULL,
                        unit_region TEXT NOT NULL,
                        service TEXT NOT NULL,
                        name TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        properties TEXT NOT NULL,
                        observed_at DATETIME NOT NULL,
                        version_hash TEXT NOT NULL,
                        first_seen_scan INTEGER NOT NULL,
                        last_seen_scan INTEGER NOT NULL
                    );
                    CREATE INDEX current_resource_type ON current_resource(type, account, region);
                    CREATE INDEX current_resource_account ON current_resource(account, region);
                    CREATE TABLE resource_tag (
                        uid TEXT NOT NULL REFERENCES current_resource(uid) ON DELETE CASCADE,
                        key TEXT NOT NULL,
                        value TEXT NOT NULL,
                        PRIMARY KEY (uid, key)
                    );
                    CREATE INDEX resource_tag_key_value ON resource_tag(key, value);
                    CREATE TABLE resource_change (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,
                        uid TEXT NOT NULL,
                        type TEXT NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        observed_at DATETIME NOT NULL,
                        differences TEXT NOT NULL DEFAULT '[]'
                    );
                    CREATE INDEX resource_change_uid ON resource_change(uid, scan_id);
                    CREATE INDEX resource_change_scan ON resource_change(scan_id);
                    CREATE TABLE metric_point (
                        uid TEXT NOT NULL,
                        metric TEXT NOT NULL,
                        period_seconds INTEGER NOT NULL,
                        ts DATETIME NOT NULL,
                        value REAL NOT NULL,
                        PRIMARY KEY (uid, metric, ts)
                    );
                    """)
        }
        return migrator
    }
}
