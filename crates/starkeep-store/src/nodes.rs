//! An instance's extra backends for `starkeep proxy`: row read replicas and column nodes beyond
//! the instance's own server, each `host:port` with a weight (its share of its kind's load).
//! What a kind means and how the load is shared is the proxy's business.

use starkeep_domain::InstanceId;

use crate::{now_unix, Store, StoreError};

/// One extra backend of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceNode {
    /// `row_replica` or `column`.
    pub kind: String,
    /// `host:port`.
    pub addr: String,
    pub weight: u32,
}

impl Store {
    /// Adds a backend to an instance, or sets the weight of one it has.
    pub async fn set_instance_node(
        &self,
        instance: &InstanceId,
        node: &InstanceNode,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO instance_nodes (instance_id, kind, addr, weight, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (instance_id, kind, addr) \
             DO UPDATE SET weight = excluded.weight",
        )
        .bind(instance.as_str())
        .bind(&node.kind)
        .bind(&node.addr)
        .bind(i64::from(node.weight))
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a backend; answers whether the instance had it.
    pub async fn remove_instance_node(
        &self,
        instance: &InstanceId,
        kind: &str,
        addr: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM instance_nodes WHERE instance_id = $1 AND kind = $2 AND addr = $3",
        )
        .bind(instance.as_str())
        .bind(kind)
        .bind(addr)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An instance's extra backends, by kind and address.
    pub async fn instance_nodes(
        &self,
        instance: &InstanceId,
    ) -> Result<Vec<InstanceNode>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT kind, addr, weight FROM instance_nodes WHERE instance_id = $1 \
             ORDER BY kind, addr",
        )
        .bind(instance.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(kind, addr, weight)| {
                Ok(InstanceNode {
                    kind,
                    addr,
                    weight: u32::try_from(weight)
                        .map_err(|_| StoreError::Corrupt(format!("node weight {weight}")))?,
                })
            })
            .collect()
    }
}
