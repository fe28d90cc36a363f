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
        migrator.registerMigration("0002-compliance") { db in
            try db.execute(
                sql: """
                    CREATE TABLE evaluation (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        scan_id INTEGER REFERENCES scan(id) ON DELETE SET NULL,
                        evaluated_at DATETIME NOT NULL,
                        checks INTEGER NOT NULL,
                        opened INTEGER NOT NULL,
                        resolved INTEGER NOT NULL,
                        reopened INTEGER NOT NULL
                    );
                    CREATE TABLE check_result (
                        evaluation_id INTEGER NOT NULL REFERENCES evaluation(id) ON DELETE CASCADE,
                        check_id TEXT NOT NULL,
                        account TEXT NOT NULL,
                        application TEXT NOT NULL,
                        passed INTEGER NOT NULL,
                        failed INTEGER NOT NULL,
                        waived INTEGER NOT NULL,
                        PRIMARY KEY (evaluation_id, check_id, account, application)
                    );
                    CREATE TABLE finding (
                        uid TEXT PRIMARY KEY,
                        check_id TEXT NOT NULL,
                        title TEXT NOT NULL,
                        severity_id INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        resource_uid TEXT NOT NULL,
                        resource_type TEXT NOT NULL,
                        resource_name TEXT NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        application TEXT,
                        first_seen DATETIME NOT NULL,
                        last_seen DATETIME NOT NULL,
                        resolved_at DATETIME,
                        reopen_count INTEGER NOT NULL DEFAULT 0,
                        last_scan_id INTEGER,
                        resource_version TEXT,
                        policy_hash TEXT NOT NULL,
                        requirements TEXT NOT NULL DEFAULT '[]',
                        waiver_id INTEGER,
                        assignee TEXT,
                        note TEXT
                    );
                    CREATE INDEX finding_check ON finding(check_id, status);
                    CREATE INDEX finding_account ON finding(account, status);
                    CREATE INDEX finding_resource ON finding(resource_uid);
                    CREATE TABLE waiver (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        check_id TEXT NOT NULL,
                        selector TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        requested_by TEXT NOT NULL,
                        approved_by TEXT,
                        state TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        expires_at DATETIME NOT NULL
                    );
                    CREATE TABLE attestation (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        framework_id TEXT NOT NULL,
                        requirement_id TEXT NOT NULL,
                        satisfied BOOLEAN NOT NULL,
                        statement TEXT NOT NULL,
                        evidence_name TEXT,
                        evidence_sha256 TEXT,
                        attested_by TEXT NOT NULL,
                        attested_at DATETIME NOT NULL,
                        expires_at DATETIME
                    );
                    CREATE INDEX attestation_requirement ON attestation(framework_id, requirement_id, attested_at);
                    -- Append-only: each entry hashes its content with the previous entry's hash.
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at DATETIME NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        details TEXT NOT NULL,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                    """)
        }
        migrator.registerMigration("0003-users") { db in
            try db.execute(
                sql: """
                    CREATE TABLE app_user (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL,
                        business_units TEXT NOT NULL DEFAULT '[]',
                        password_hash TEXT NOT NULL,
                        failed_logins INTEGER NOT NULL DEFAULT 0,
                        locked_until DATETIME
                    );
                    CREATE TABLE user_session (
                        token_hash TEXT PRIMARY KEY,
                        user_id INTEGER NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
                        csrf_token TEXT NOT NULL,
                        expires_at DATETIME NOT NULL
                    );
                    CREATE TABLE api_token (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        user_id INTEGER NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
                        token_hash TEXT NOT NULL UNIQUE,
                        expires_at DATETIME NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0004-ownership") { db in
            try db.execute(
                sql: """
                    -- Business units and applications, in the order they were defined (an
                    -- application's position is its priority when selectors overlap).
                    CREATE TABLE business_unit (
                        id TEXT PRIMARY KEY,
                        position INTEGER NOT NULL,
                        definition TEXT NOT NULL
                    );
                    CREATE TABLE application (
                        id TEXT PRIMARY KEY,
                        position INTEGER NOT NULL,
                        definition TEXT NOT NULL
                    );
                    -- Where a change came from (the client's address, or 'cli'); entries made
                    -- before this column existed hash without it.
                    ALTER TABLE audit_log ADD COLUMN address TEXT NOT NULL DEFAULT '';
                    ALTER TABLE api_token ADD COLUMN created_at DATETIME;
                    ALTER TABLE api_token ADD COLUMN created_by TEXT;
                    -- A token may act with a narrower role than its user's; NULL means the user's.
                    ALTER TABLE api_token ADD COLUMN role TEXT;
                    """)
        }
        migrator.registerMigration("0005-webhooks") { db in
            try db.execute(
                sql: """
                    -- The address is sealed (AES-GCM, key outside the database); only its host is plain.
                    CREATE TABLE webhook (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        host TEXT NOT NULL,
                        events TEXT NOT NULL,
                        minimum_severity INTEGER NOT NULL,
                        sealed_url TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0006-costs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cost_import (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        file TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        format TEXT NOT NULL,
                        rows INTEGER NOT NULL,
                        periods TEXT NOT NULL,
                        billed_total TEXT NOT NULL,
                        imported_at DATETIME NOT NULL,
                        actor TEXT NOT NULL
                    );
                    CREATE INDEX cost_import_sha ON cost_import(sha256);
                    -- The ledger: FOCUS rows. Money is kept as exact decimal text; the typed
                    -- columns are those views group by, the rest of the row is in 'columns'.
                    CREATE TABLE cost_row (
                        id INTEGER PRIMARY KEY,
                        import_id INTEGER NOT NULL REFERENCES cost_import(id),
                        period TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        day TEXT NOT NULL,
                        billing_period_start DATETIME NOT NULL,
                        billing_period_end DATETIME NOT NULL,
                        charge_period_start DATETIME NOT NULL,
                        charge_period_end DATETIME NOT NULL,
                        host_provider TEXT,
                        billing_account_id TEXT NOT NULL,
                        billing_account_name TEXT,
                        sub_account_id TEXT,
                        sub_account_name TEXT,
                        billing_currency TEXT NOT NULL,
                        billed_cost TEXT NOT NULL,
                        effective_cost TEXT NOT NULL,
                        list_cost TEXT NOT NULL,
                        contracted_cost TEXT NOT NULL,
                        charge_category TEXT NOT NULL,
                        charge_class TEXT,
                        charge_frequency TEXT,
                        service_name TEXT,
                        service_category TEXT,
                        region_id TEXT,
                        resource_id TEXT,
                        resource_type TEXT,
                        sku_id TEXT,
                        consumed_quantity TEXT,
                        consumed_unit TEXT,
                        commitment_discount_id TEXT,
                        commitment_discount_status TEXT,
                        tags TEXT NOT NULL,
                        columns TEXT NOT NULL
                    );
                    CREATE INDEX cost_row_period ON cost_row(period, provider, import_id);
                    CREATE INDEX cost_row_day ON cost_row(day, sub_account_id, service_name);
                    -- Daily sums per account, service and region, kept exact (decimal text) at
                    -- import, so views over millions of rows read thousands.
                    CREATE TABLE cost_daily (
                        import_id INTEGER NOT NULL REFERENCES cost_import(id),
                        period TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        day TEXT NOT NULL,
                        billing_account_id TEXT NOT NULL,
                        sub_account_id TEXT NOT NULL,
                        service_name TEXT NOT NULL,
                        region_id TEXT NOT NULL,
                        charge_category TEXT NOT NULL,
                        billing_currency TEXT NOT NULL,
                        billed_cost TEXT NOT NULL,
                        effective_cost TEXT NOT NULL,
                        list_cost TEXT NOT NULL,
                        rows INTEGER NOT NULL
                    );
                    CREATE INDEX cost_daily_period ON cost_daily(period, provider);
                    CREATE INDEX cost_daily_day ON cost_daily(day);
                    """)
        }
        migrator.registerMigration("0007-budgets") { db in
            try db.execute(sql: "CREATE TABLE budget (id TEXT PRIMARY KEY, definition TEXT NOT NULL)")
        }
        migrator.registerMigration("0008-cost-allocation") { db in
            try db.execute(
                sql: """
                    -- The daily sums again, split further by what allocation rules look at
                    -- (resource type and tags), so allocating reads one row per resource-day
                    -- grouping, not every ledger row.
                    CREATE TABLE cost_slice (
                        import_id INTEGER NOT NULL REFERENCES cost_import(id),
                        period TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        day TEXT NOT NULL,
                        billing_account_id TEXT NOT NULL,
                        sub_account_id TEXT NOT NULL,
                        service_name TEXT NOT NULL,
                        region_id TEXT NOT NULL,
                        charge_category TEXT NOT NULL,
                        resource_type TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        billing_currency TEXT NOT NULL,
                        billed_cost TEXT NOT NULL,
                        effective_cost TEXT NOT NULL,
                        list_cost TEXT NOT NULL,
                        rows INTEGER NOT NULL
                    );
                    CREATE INDEX cost_slice_period ON cost_slice(period, provider);
                    CREATE INDEX cost_slice_day ON cost_slice(day);
                    -- Allocation rule sets, each applied set a new version; the highest is in force.
                    CREATE TABLE allocation_version (
                        version INTEGER PRIMARY KEY,
                        definition TEXT NOT NULL,
                        source TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        applied_at DATETIME NOT NULL,
                        actor TEXT NOT NULL
                    );
                    """)
            // A ledger imported before this version gets its slices from its rows.
            try SQLiteStore.rebuildSlices(db)
        }
        migrator.registerMigration("0009-carbon-settings") { db in
            try db.execute(
                sql: """
                    -- Carbon settings as applied, newest last; the newest is in force.
                    CREATE TABLE carbon_settings (
                        id INTEGER PRIMARY KEY,
                        definition TEXT NOT NULL,
                        source TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        applied_at DATETIME NOT NULL,
                        actor TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0010-activity-lake") { db in
            try db.execute(
                sql: """
                    -- The activity lake: append-only, each event's hash chained to the one before.
                    CREATE TABLE lake_event (
                        seq INTEGER PRIMARY KEY,
                        event_id TEXT NOT NULL UNIQUE,
                        event_time DATETIME NOT NULL,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        event_source TEXT NOT NULL,
                        event_name TEXT NOT NULL,
                        user_arn TEXT,
                        user_type TEXT,
                        source_ip TEXT,
                        error_code TEXT,
                        read_only BOOLEAN,
                        body TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX lake_event_time ON lake_event(event_time);
                    CREATE INDEX lake_event_name ON lake_event(event_name, event_time);
                    CREATE INDEX lake_event_user ON lake_event(user_arn, event_time);
                    -- Signed digests sealing the chain up to a position.
                    CREATE TABLE lake_digest (
                        id INTEGER PRIMARY KEY,
                        first_seq INTEGER NOT NULL,
                        last_seq INTEGER NOT NULL,
                        head_hash TEXT NOT NULL,
                        previous_signature TEXT NOT NULL,
                        signed_at DATETIME NOT NULL,
                        signature TEXT NOT NULL
                    );
                    -- The Ed25519 key that signs digests, its private half sealed (SecretBox).
                    CREATE TABLE lake_key (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        sealed_private_key TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0011-security-findings") { db in
            try db.execute(
                sql: """
                    -- Security findings from every source (detections, ASFF, OCSF, Trivy), one OCSF-shaped model.
                    CREATE TABLE security_finding (
                        uid TEXT PRIMARY KEY,
                        source TEXT NOT NULL,
                        class_uid INTEGER NOT NULL,
                        rule_id TEXT NOT NULL,
                        title TEXT NOT NULL,
                        description TEXT NOT NULL,
                        severity_id INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        resource_uid TEXT,
                        resource_type TEXT,
                        account TEXT NOT NULL,
                        region TEXT NOT NULL,
                        principal TEXT,
                        techniques TEXT NOT NULL,
                        first_seen DATETIME NOT NULL,
                        last_seen DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL,
                        event_count INTEGER NOT NULL,
                        assignee TEXT,
                        note TEXT,
                        raw TEXT NOT NULL
                    );
                    CREATE INDEX security_finding_resource ON security_finding(resource_uid);
                    CREATE INDEX security_finding_seen ON security_finding(last_seen);
                    -- The activity events a detection was raised on (lake event ids).
                    CREATE TABLE security_finding_event (
                        finding_uid TEXT NOT NULL REFERENCES security_finding(uid),
                        event_id TEXT NOT NULL,
                        PRIMARY KEY (finding_uid, event_id)
                    ) WITHOUT ROWID;
                    -- Suppression rules: findings they match show as suppressed, with the reason, until they expire.
                    CREATE TABLE finding_suppression (
                        id INTEGER PRIMARY KEY,
                        source TEXT,
                        rule_id TEXT,
                        resource_uid TEXT,
                        account TEXT,
                        reason TEXT NOT NULL,
                        expires_at DATETIME NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    -- The views the read-only SQL console may read (LakeSQL): CloudTrail's own names.
                    CREATE VIEW lake_events AS SELECT seq, event_id AS eventID, event_time AS eventTime, account, region,
                        event_source AS eventSource, event_name AS eventName, user_arn AS userArn, user_type AS userType,
                        source_ip AS sourceIPAddress, error_code AS errorCode, read_only AS readOnly, body FROM lake_event;
                    CREATE VIEW lake_findings AS SELECT uid, source, class_uid AS classUID, rule_id AS ruleID, title, severity_id AS severityID,
                        status, resource_uid AS resourceUID, account, region, principal, techniques, first_seen AS firstSeen,
                        last_seen AS lastSeen, event_count AS eventCount FROM security_finding;
                    -- Saved lake queries: a filter or a SQL statement, by name.
                    CREATE TABLE saved_query (
                        name TEXT PRIMARY KEY,
                        kind TEXT NOT NULL CHECK (kind IN ('filter', 'sql')),
                        query TEXT NOT NULL,
                        created_by TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    -- Sigma rules loaded beside Canopy's built-in ones, as their text.
                    CREATE TABLE detection_rule (
                        id TEXT PRIMARY KEY,
                        title TEXT NOT NULL,
                        origin TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        text TEXT NOT NULL,
                        added_at DATETIME NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0012-hosts") { db in
            try db.execute(
                sql: """
                    -- Agent credentials: one per host, issued for a site, bound to the host's machine id on first upload.
                    CREATE TABLE host_enrollment (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        site TEXT NOT NULL,
                        tags TEXT NOT NULL,
                        token_hash TEXT NOT NULL UNIQUE,
                        host_id TEXT UNIQUE,
                        created_at DATETIME NOT NULL,
                        created_by TEXT NOT NULL,
                        expires_at DATETIME NOT NULL,
                        revoked_at DATETIME,
                        last_upload_at DATETIME
                    );
                    -- A host's packages and listening ports as last reported (child records of the onprem.host resource).
                    CREATE TABLE host_package (
                        host_uid TEXT NOT NULL,
                        name TEXT NOT NULL,
                        architecture TEXT NOT NULL,
                        version TEXT NOT NULL,
                        manager TEXT NOT NULL,
                        PRIMARY KEY (host_uid, name, architecture)
                    ) WITHOUT ROWID;
                    CREATE INDEX host_package_name ON host_package(name);
                    CREATE TABLE host_port (
                        host_uid TEXT NOT NULL,
                        transport TEXT NOT NULL,
                        address TEXT NOT NULL,
                        port INTEGER NOT NULL,
                        process TEXT,
                        user TEXT,
                        PRIMARY KEY (host_uid, transport, address, port)
                    ) WITHOUT ROWID;
                    -- Patch baselines as applied (the newest is in force).
                    CREATE TABLE patch_baseline (
                        id INTEGER PRIMARY KEY,
                        definition TEXT NOT NULL,
                        source TEXT NOT NULL,
                        sha256 TEXT NOT NULL,
                        applied_at DATETIME NOT NULL,
                        actor TEXT NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("0013-cost-blocks") { db in
            try db.execute(
                sql: """
                    -- The ledger's rows in blocks (CostBlock): up to 32,768 rows of one import,
                    -- billing period and provider a block, column by column, each column its
                    -- distinct values and a position a row. Replaces cost_row, which stored a
                    -- B-tree row and two index entries a line item (1.1 kB a row).
                    CREATE TABLE cost_block (
                        id INTEGER PRIMARY KEY,
                        import_id INTEGER NOT NULL REFERENCES cost_import(id),
                        period TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        rows INTEGER NOT NULL,
                        data BLOB NOT NULL
                    );
                    CREATE INDEX cost_block_period ON cost_block(period, provider, import_id);
                    -- Which blocks hold rows charged on a day to a sub-account for a service
                    -- ('' when the row has none): the drill-down reads those blocks only.
                    CREATE TABLE cost_block_key (
                        day TEXT NOT NULL,
                        sub_account_id TEXT NOT NULL,
                        service_name TEXT NOT NULL,
                        block_id INTEGER NOT NULL
                    );
                    CREATE INDEX cost_block_key_day ON cost_block_key(day, sub_account_id, service_name);
                    """)
            try SQLiteStore.moveCostRowsIntoBlocks(db)
        }
        return migrator
    }
}
