//! The row store's plan as a number: [`explain_statement`] builds the `EXPLAIN FORMAT=JSON` the
//! proxy runs, and [`Estimate::from_explain_json`] reads what MariaDB, MySQL 8 and TaurusDB print
//! back. The threshold comparison and the cache live in `router.rs`.
//!
//! Rows read: for each join order (a `table`, or the tables of a `nested_loop`, in order), a
//! table's rows examined per scan times the rows the tables before it produce, summed, plus the
//! same for every subquery and derived table. MariaDB gives `rows` and `filtered` (percent) per
//! table, so the rows produced after a table are the previous product times `rows × filtered /
//! 100`; MySQL 8 and TaurusDB give `rows_examined_per_scan` and `rows_produced_per_join` (the
//! product itself) and print numbers as strings. MySQL's `cost_info.query_cost` is kept beside it.
//! Field names are those of the MariaDB knowledge base ("EXPLAIN FORMAT=JSON") and the MySQL 8
//! reference manual ("EXPLAIN Output Format").

use serde_json::{Map, Value};

/// The row store's estimate of a statement's work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Estimated rows read, over every table of the plan.
    pub rows: f64,
    /// The optimizer's total cost (`cost_info.query_cost` of the outermost query block), where
    /// the server prints one (MySQL 8, TaurusDB).
    pub query_cost: Option<f64>,
}

impl Estimate {
    /// Reads an `EXPLAIN FORMAT=JSON` document; `None` if it is not JSON or has no
    /// `query_block` (the server printed something else).
    pub fn from_explain_json(json: &str) -> Option<Estimate> {
        let doc: Value = serde_json::from_str(json).ok()?;
        let block = doc.get("query_block")?;
        let query_cost = block
            .get("cost_info")
            .and_then(|c| c.get("query_cost"))
            .and_then(number);
        Some(Estimate {
            rows: rows_read(block),
            query_cost,
        })
    }
}

/// `EXPLAIN FORMAT=JSON <statement>`, the statement without trailing semicolons.
pub fn explain_statement(sql: &str) -> String {
    let statement = sql
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    format!("EXPLAIN FORMAT=JSON {statement}")
}

/// A JSON number, or a string holding one (MySQL 8 prints `"100.00"`).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Rows read under a JSON node: its own join order plus everything nested in it.
fn rows_read(node: &Value) -> f64 {
    match node {
        Value::Object(map) => {
            let mut total = 0.0;
            let mut produced = 1.0;
            let mut in_order = |table: &Map<String, Value>, total: &mut f64| {
                let examined = table
                    .get("rows_examined_per_scan")
                    .or_else(|| table.get("rows"))
                    .and_then(number);
                let examined = examined.unwrap_or(0.0);
                *total += produced * examined;
                produced = match table.get("rows_produced_per_join").and_then(number) {
                    Some(product) => product,
                    None => {
                        let filtered = table.get("filtered").and_then(number).unwrap_or(100.0);
                        produced * examined * filtered / 100.0
                    }
                };
                // Subqueries and derived tables attached to the table.
                *total += table
                    .iter()
                    .filter(|(_, v)| v.is_object() || v.is_array())
                    .map(|(_, v)| rows_read(v))
                    .sum::<f64>();
            };
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("table", Value::Object(table)) => in_order(table, &mut total),
                    ("nested_loop", Value::Array(steps)) => {
                        for step in steps {
                            match join_step_table(step) {
                                Some(table) => in_order(table, &mut total),
                                None => total += rows_read(step),
                            }
                        }
                    }
                    _ => total += rows_read(value),
                }
            }
            total
        }
        Value::Array(items) => items.iter().map(rows_read).sum(),
        _ => 0.0,
    }
}

/// The table of one step of a nested loop: `{"table": …}`, or MariaDB's wrappers around it
/// (`{"block-nl-join": {"table": …}}`).
fn join_step_table(step: &Value) -> Option<&Map<String, Value>> {
    let map = step.as_object()?;
    if let Some(Value::Object(table)) = map.get("table") {
        return Some(table);
    }
    map.values()
        .find_map(|v| v.get("table").and_then(Value::as_object))
}
