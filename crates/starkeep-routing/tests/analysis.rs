//! What `analyze` makes of the statement texts MySQL and MariaDB clients send: rule 1's pins,
//! rule 2's hints, rule 3's tables, session effects and fingerprints. The decisions built on
//! them are tested in rules.rs.

use starkeep_routing::{analyze, Hint, RowReason, SessionEffect, SessionSetting, TableRef};

fn pinned(sql: &str) -> Option<RowReason> {
    analyze(sql).pinned
}

fn tables(sql: &str) -> Vec<TableRef> {
    let analysis = analyze(sql);
    assert_eq!(
        analysis.pinned, None,
        "{sql} is pinned: {:?}",
        analysis.pinned
    );
    analysis.tables
}

fn t(db: Option<&str>, name: &str) -> TableRef {
    TableRef::new(db, name)
}

#[test]
fn plain_reads_are_not_pinned_and_name_their_tables() {
    assert_eq!(
        tables("SELECT * FROM orders WHERE id = 7"),
        [t(None, "orders")]
    );
    assert_eq!(
        tables("select o.id from `shop`.`orders` o join shop.items i on i.o = o.id"),
        [t(Some("shop"), "orders"), t(Some("shop"), "items")]
    );
    assert_eq!(
        tables("SELECT a FROM t1 WHERE b IN (SELECT b FROM t2) UNION ALL SELECT a FROM (SELECT a FROM t3) d"),
        [t(None, "t1"), t(None, "t2"), t(None, "t3")]
    );
    assert_eq!(
        tables("SELECT COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 1 ORDER BY 1 LIMIT 10, 5"),
        [t(None, "t")]
    );
    assert_eq!(
        tables("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)"),
        [t(None, "t"), t(None, "u")]
    );
    assert_eq!(
        tables("SELECT * FROM t LEFT JOIN t ON true"),
        [t(None, "t")]
    );
}

#[test]
fn cte_names_and_dual_are_not_tables() {
    assert_eq!(
        tables("WITH recent AS (SELECT * FROM orders WHERE d > '2024-01-01') SELECT * FROM recent"),
        [t(None, "orders")]
    );
    assert_eq!(tables("SELECT 1 FROM DUAL"), []);
    assert_eq!(tables("SELECT NOW(), @@version"), []);
}

#[test]
fn writes_are_pinned() {
    for sql in [
        "INSERT INTO t (a) VALUES (1)",
        "INSERT INTO t SELECT * FROM u",
        "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = a + 1",
        "REPLACE INTO t VALUES (1)",
        "UPDATE t SET a = 2 WHERE id = 1",
        "DELETE FROM t WHERE id = 1",
        "DELETE t FROM t JOIN u ON t.id = u.id",
        "TRUNCATE TABLE t",
        "SELECT a INTO OUTFILE '/tmp/x' FROM t",
        "SELECT NEXTVAL(seq)",
        "SELECT a INTO @v FROM t LIMIT 1",
        "SELECT a FROM t LIMIT 1 INTO @v",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::Write), "{sql}");
    }
}

#[test]
fn ddl_and_dcl_are_pinned_and_commit() {
    for sql in [
        "CREATE TABLE t (id INT PRIMARY KEY)",
        "ALTER TABLE t ADD COLUMN b INT",
        "DROP TABLE t",
        "CREATE INDEX i ON t (a)",
        "CREATE VIEW v AS SELECT * FROM t",
        "CREATE DATABASE d",
        "RENAME TABLE a TO b",
    ] {
        let a = analyze(sql);
        assert_eq!(a.pinned, Some(RowReason::Ddl), "{sql}");
        assert_eq!(a.session, SessionEffect::EndTransaction, "{sql}");
    }
    for sql in [
        "GRANT SELECT ON d.* TO 'u'@'%'",
        "REVOKE SELECT ON d.* FROM 'u'@'%'",
        "CREATE USER 'u'@'%' IDENTIFIED BY 'x'",
        "ALTER USER 'u'@'%' IDENTIFIED BY 'y'",
        "DROP USER 'u'@'%'",
        "SET PASSWORD FOR 'u'@'%' = 'z'",
        "SET PASSWORD = 'x'",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::Dcl), "{sql}");
    }
}

#[test]
fn locking_reads_are_pinned() {
    for sql in [
        "SELECT * FROM t WHERE id = 1 FOR UPDATE",
        "SELECT * FROM t WHERE id = 1 FOR SHARE",
        "SELECT * FROM t WHERE id = 1 LOCK IN SHARE MODE",
        "select * from t where id = 1 lock  in share mode",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::LockingRead), "{sql}");
    }
}

#[test]
fn user_variables_are_pinned_system_variables_are_not() {
    for sql in [
        "SET @x = 1",
        "SELECT @x",
        "SELECT * FROM t WHERE id = @id",
        "SELECT @a := 1",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::UserVariable), "{sql}");
    }
    assert_eq!(analyze("SET @x = 1").session, SessionEffect::None);
    assert_eq!(pinned("SELECT @@session.sql_mode"), None);
}

#[test]
fn temporary_tables_are_pinned_and_tracked() {
    let create = analyze("CREATE TEMPORARY TABLE tmp (id INT)");
    assert_eq!(create.pinned, Some(RowReason::TemporaryTable));
    assert_eq!(
        create.session,
        SessionEffect::CreateTemporaryTable(t(None, "tmp"))
    );
    let drop = analyze("DROP TEMPORARY TABLE IF EXISTS tmp, d.tmp2");
    assert_eq!(drop.pinned, Some(RowReason::TemporaryTable));
    assert_eq!(
        drop.session,
        SessionEffect::DropTemporaryTables(vec![t(None, "tmp"), t(Some("d"), "tmp2")])
    );
}

#[test]
fn stored_routines_load_data_and_prepare_are_pinned() {
    assert_eq!(pinned("CALL p(1, 2)"), Some(RowReason::StoredRoutine));
    assert_eq!(
        pinned("CREATE PROCEDURE p() BEGIN SELECT 1; END"),
        Some(RowReason::MultiStatement),
        "a routine body has semicolons: pinned either way"
    );
    assert_eq!(pinned("DROP PROCEDURE p"), Some(RowReason::StoredRoutine));
    assert_eq!(
        pinned("LOAD DATA INFILE '/tmp/x' INTO TABLE t"),
        Some(RowReason::LoadData)
    );
    assert_eq!(
        pinned("LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t FIELDS TERMINATED BY ','"),
        Some(RowReason::LoadData)
    );
    assert_eq!(
        pinned("PREPARE s FROM 'SELECT 1'"),
        Some(RowReason::PreparedStatement)
    );
    assert_eq!(pinned("EXECUTE s"), Some(RowReason::PreparedStatement));
    assert_eq!(
        pinned("DEALLOCATE PREPARE s"),
        Some(RowReason::PreparedStatement)
    );
}

#[test]
fn several_statements_and_executable_comments_are_pinned() {
    assert_eq!(
        pinned("SELECT * FROM t; SELECT * FROM u"),
        Some(RowReason::MultiStatement)
    );
    assert_eq!(pinned("SELECT * FROM t;"), None);
    assert_eq!(
        pinned("SELECT /*!40001 SQL_NO_CACHE */ * FROM t"),
        Some(RowReason::ExecutableComment)
    );
}

#[test]
fn connection_bound_functions_are_pinned() {
    for sql in [
        "SELECT LAST_INSERT_ID()",
        "SELECT * FROM t WHERE id = last_insert_id()",
        "SELECT FOUND_ROWS()",
        "SELECT ROW_COUNT()",
        "SELECT CONNECTION_ID()",
        "SELECT GET_LOCK('x', 10)",
        "SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::SessionFunction), "{sql}");
    }
}

#[test]
fn statements_that_are_not_reads_are_pinned() {
    for sql in [
        "SHOW TABLES",
        "SHOW FULL COLUMNS FROM t",
        "SHOW VARIABLES LIKE 'version%'",
        "SHOW CREATE TABLE t",
        "SHOW DATABASES",
        "SHOW ENGINE INNODB STATUS",
        "SHOW PROCESSLIST",
        "DESCRIBE t",
        "DESC t",
        "EXPLAIN SELECT * FROM t",
        "KILL 12",
        "LOCK TABLES t READ",
        "UNLOCK TABLES",
    ] {
        assert_eq!(pinned(sql), Some(RowReason::NotAQuery), "{sql}");
    }
}

#[test]
fn unparseable_text_is_pinned() {
    assert_eq!(pinned("SELEKT * FROM t"), Some(RowReason::Unparsed));
    assert_eq!(pinned("SELECT 'open"), Some(RowReason::Unparsed));
    assert_eq!(pinned(""), Some(RowReason::Unparsed));
}

#[test]
fn transaction_control() {
    for sql in [
        "BEGIN",
        "begin work",
        "START TRANSACTION",
        "START TRANSACTION READ ONLY",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
        "XA START 'x'",
    ] {
        let a = analyze(sql);
        assert_eq!(a.pinned, Some(RowReason::SessionControl), "{sql}");
        assert_eq!(a.session, SessionEffect::BeginTransaction, "{sql}");
    }
    for sql in [
        "COMMIT",
        "commit work",
        "ROLLBACK",
        "ROLLBACK WORK",
        "COMMIT AND NO CHAIN",
        "XA COMMIT 'x'",
    ] {
        assert_eq!(analyze(sql).session, SessionEffect::EndTransaction, "{sql}");
    }
    for sql in [
        "ROLLBACK TO SAVEPOINT s",
        "ROLLBACK TO s",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "BEGIN NOT ATOMIC SELECT 1 END",
    ] {
        let a = analyze(sql);
        assert_eq!(a.pinned, Some(RowReason::SessionControl), "{sql}");
        assert_eq!(a.session, SessionEffect::None, "{sql}");
    }
}

#[test]
fn session_settings() {
    let set = |sql: &str| match analyze(sql).session {
        SessionEffect::Set(settings) => settings,
        other => panic!("{sql}: {other:?}"),
    };
    assert_eq!(
        set("SET autocommit = 0"),
        [SessionSetting::Autocommit(false)]
    );
    assert_eq!(set("SET autocommit=1"), [SessionSetting::Autocommit(true)]);
    assert_eq!(
        set("SET @@autocommit = OFF"),
        [SessionSetting::Autocommit(false)]
    );
    assert_eq!(
        set("SET SESSION autocommit = ON"),
        [SessionSetting::Autocommit(true)]
    );
    assert_eq!(
        set("set @@session.autocommit=0"),
        [SessionSetting::Autocommit(false)]
    );
    assert_eq!(
        set("SET NAMES utf8mb4"),
        [SessionSetting::Names {
            charset: Some("utf8mb4".into()),
            collation: None
        }]
    );
    assert_eq!(
        set("SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'"),
        [SessionSetting::Names {
            charset: Some("utf8mb4".into()),
            collation: Some("utf8mb4_general_ci".into())
        }]
    );
    assert_eq!(
        set("SET sql_mode = 'STRICT_TRANS_TABLES', SESSION time_zone = '+08:00'"),
        [
            SessionSetting::Variable {
                name: "sql_mode".into(),
                value: "'STRICT_TRANS_TABLES'".into()
            },
            SessionSetting::Variable {
                name: "time_zone".into(),
                value: "'+08:00'".into()
            },
        ]
    );
    assert_eq!(
        analyze("SET GLOBAL max_connections = 10").session,
        SessionEffect::None
    );
    assert_eq!(
        analyze("USE shop").session,
        SessionEffect::Use("shop".into())
    );
    assert_eq!(
        analyze("use `my db`").session,
        SessionEffect::Use("my db".into())
    );
    assert!(!analyze("SET autocommit = 0").cacheable());
}

#[test]
fn hints() {
    for (sql, hint) in [
        ("/*FORCE_COLUMN*/ SELECT * FROM t", Hint::Column),
        ("SELECT /*FORCE_IMCI_NODES*/ * FROM t", Hint::Column),
        ("SELECT /*+ force_column */ * FROM t", Hint::Column),
        ("SELECT * FROM t /* FORCE_ROW */", Hint::RowPrimary),
        ("/*FORCE_MASTER*/ SELECT * FROM t", Hint::RowPrimary),
        ("/*FORCE_SLAVE*/ SELECT * FROM t", Hint::RowReplica),
    ] {
        let a = analyze(sql);
        assert_eq!(a.hint, Some(hint), "{sql}");
        assert_eq!(a.pinned, None, "{sql}");
        assert_eq!(a.tables, [t(None, "t")], "{sql}");
    }
    assert_eq!(analyze("/* FORCE_COLUMNS */ SELECT 1").hint, None);
    assert_eq!(analyze("SELECT '/*FORCE_COLUMN*/' FROM t").hint, None);
}

#[test]
fn fingerprints_ignore_literals_and_keep_hints() {
    let a = analyze("SELECT * FROM t WHERE id = 1");
    let b = analyze("SELECT *  FROM t WHERE id = 99 -- c\n");
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.fingerprint, "SELECT * FROM t WHERE id = ?");
    assert_ne!(
        a.fingerprint,
        analyze("/*FORCE_COLUMN*/ SELECT * FROM t WHERE id = 1").fingerprint
    );
    assert_ne!(
        a.fingerprint,
        analyze("SELECT * FROM u WHERE id = 1").fingerprint
    );
    assert!(a.cacheable());
}

#[test]
fn mariadb_syntax() {
    assert_eq!(
        tables("SELECT * FROM t WHERE a = 1 LIMIT 5 OFFSET 10"),
        [t(None, "t")]
    );
    assert_eq!(
        pinned("INSERT INTO t VALUES (1) RETURNING id"),
        Some(RowReason::Write)
    );
    assert_eq!(
        pinned("DELETE FROM t WHERE id = 1 RETURNING *"),
        Some(RowReason::Write)
    );
    assert_eq!(
        pinned("CREATE OR REPLACE TABLE t (id INT)"),
        Some(RowReason::Ddl)
    );
    assert_eq!(pinned("CREATE SEQUENCE s"), Some(RowReason::Ddl));
}

#[test]
fn long_texts_are_classified_without_parsing_and_not_cached() {
    let values = vec!["(1, 'x')"; 20_000].join(", ");
    let insert = format!("INSERT INTO t VALUES {values}");
    assert!(insert.len() > starkeep_routing::MAX_PARSED_LEN);
    let a = analyze(&insert);
    assert_eq!(a.pinned, Some(RowReason::Write));
    assert!(!a.cacheable());
    let select = format!(
        "SELECT * FROM t WHERE a IN ({})",
        vec!["1"; 40_000].join(", ")
    );
    assert_eq!(pinned(&select), Some(RowReason::Unparsed));
    let short = format!("SELECT * FROM t WHERE a IN ({})", vec!["1"; 100].join(", "));
    assert!(analyze(&short).cacheable());
}
