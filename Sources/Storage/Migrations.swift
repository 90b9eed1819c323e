import Foundation
internal import GRDB

/// The schema, as append-only GRDB migrations recorded in `grdb_migrations`.
///
/// Never edit a registered migration: add a new one. Times are REAL seconds since 1970.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-experiments") { db in try createExperiments(db) }
        migrator.registerMigration("v1-metrics") { db in try createMetrics(db) }
        migrator.registerMigration("v1-checkpoints-sessions") { db in try createCheckpointsAndSessions(db) }
        // Live feeds read "points of these series after id N": SQLite indexes end with the
        // rowid, so an index on series_id alone serves (series_id = ? AND id > ?) in id order.
        migrator.registerMigration("v2-metric-points-by-series") { db in
            try db.execute(sql: "CREATE INDEX metric_points_by_series ON metric_points (series_id)")
        }
        return migrator
    }

    private static func createExperiments(_ db: Database) throws {
        // Frozen text: the statuses as they were when v1 was written, not the live enum (a new
        // status needs a migration of its own; a test checks that the two still agree).
        try db.execute(sql: """
            CREATE TABLE experiments (
                id TEXT PRIMARY KEY NOT NULL,
                name TEXT NOT NULL,
                environment TEXT NOT NULL,
                spec TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'stopping', 'succeeded', 'failed', 'stopped', 'cancelled')),
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                queued_at REAL NOT NULL,
                started_at REAL,
                finished_at REAL,
                error_message TEXT,
                idempotency_key TEXT UNIQUE,
                request_hash TEXT,
                epoch INTEGER NOT NULL DEFAULT 0,
                epochs INTEGER NOT NULL DEFAULT 0,
                env_steps INTEGER NOT NULL DEFAULT 0,
                grad_steps INTEGER NOT NULL DEFAULT 0,
                phase TEXT,
                eta_seconds REAL,
                last_return REAL,
                last_success_rate REAL,
                worker_id TEXT,
                heartbeat_at REAL,
                version INTEGER NOT NULL DEFAULT 1
            );
            CREATE INDEX experiments_by_created ON experiments (created_at, id);
            CREATE INDEX experiments_by_status_created ON experiments (status, created_at, id);
            CREATE INDEX experiments_queue ON experiments (status, queued_at, id);
            CREATE TABLE status_history (
                id INTEGER PRIMARY KEY,
                experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                from_status TEXT,
                to_status TEXT NOT NULL,
                reason TEXT NOT NULL,
                at REAL NOT NULL
            );
            CREATE INDEX status_history_by_experiment ON status_history (experiment_id, id);
            """)
    }

    private static func createMetrics(_ db: Database) throws {
        // One row per (experiment, key) keeps point rows and their four indexes small.
        // value is NULL for NaN: SQLite cannot store NaN, and aggregates skip NULL.
        try db.execute(sql: """
            CREATE TABLE metric_series (
                id INTEGER PRIMARY KEY,
                experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                UNIQUE (experiment_id, key)
            );
            CREATE TABLE metric_points (
                -- AUTOINCREMENT: ids never repeat, even after the tail is deleted on resume,
                -- so a live feed's position stays valid.
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                series_id INTEGER NOT NULL REFERENCES metric_series(id) ON DELETE CASCADE,
                value REAL,
                env_steps INTEGER NOT NULL,
                grad_steps INTEGER NOT NULL,
                epoch INTEGER NOT NULL,
                wall_time REAL NOT NULL
            );
            CREATE INDEX metric_points_by_env_steps ON metric_points (series_id, env_steps);
            CREATE INDEX metric_points_by_grad_steps ON metric_points (series_id, grad_steps);
            CREATE INDEX metric_points_by_epoch ON metric_points (series_id, epoch);
            CREATE INDEX metric_points_by_wall_time ON metric_points (series_id, wall_time);
            """)
    }

    private static func createCheckpointsAndSessions(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE checkpoints (
                id TEXT PRIMARY KEY NOT NULL,
                experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                epoch INTEGER NOT NULL,
                env_steps INTEGER NOT NULL,
                grad_steps INTEGER NOT NULL,
                eval_return REAL,
                path TEXT NOT NULL UNIQUE,
                size_bytes INTEGER NOT NULL,
                created_at REAL NOT NULL
            );
            CREATE INDEX checkpoints_by_experiment ON checkpoints (experiment_id, epoch);
            CREATE TABLE act_sessions (
                id TEXT PRIMARY KEY NOT NULL,
                experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                checkpoint_id TEXT NOT NULL REFERENCES checkpoints(id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                last_used_at REAL NOT NULL,
                steps INTEGER NOT NULL DEFAULT 0,
                ended_at REAL,
                end_reason TEXT
            );
            CREATE INDEX act_sessions_by_experiment ON act_sessions (experiment_id);
            CREATE INDEX act_sessions_by_checkpoint ON act_sessions (checkpoint_id);
            CREATE INDEX act_sessions_open_by_last_used ON act_sessions (last_used_at) WHERE ended_at IS NULL;
            """)
    }
}
