//! Proposals queued for the user's review: what another program asked for through
//! `keybot mcp` (a tool's name and its arguments, as it sent them). Nothing here is signed;
//! the user reviews each in the app or with `keybot proposals`, and the decision is kept.
use rusqlite::{OptionalExtension, Row, params};

use super::{Result, Store, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalState {
    Pending,
    Signed,
    Declined,
}

impl ProposalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Pending => "pending",
            ProposalState::Signed => "signed",
            ProposalState::Declined => "declined",
        }
    }

    fn parse(s: &str) -> ProposalState {
        match s {
            "signed" => ProposalState::Signed,
            "declined" => ProposalState::Declined,
            _ => ProposalState::Pending,
        }
    }
}

/// A proposal in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedProposal {
    pub id: i64,
    /// The tool the program called (`transfer`, `buy`, …).
    pub tool: String,
    /// Its arguments, JSON as the program sent them (read strictly again at review).
    pub arguments: String,
    /// Who proposed it (`mcp`).
    pub source: String,
    pub state: ProposalState,
    /// The decision's line ("signed: tx …", "declined", why it failed).
    pub result: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

fn row(r: &Row) -> rusqlite::Result<QueuedProposal> {
    let state: String = r.get(4)?;
    Ok(QueuedProposal {
        id: r.get(0)?,
        tool: r.get(1)?,
        arguments: r.get(2)?,
        source: r.get(3)?,
        state: ProposalState::parse(&state),
        result: r.get(5)?,
        created_at: r.get(6)?,
    })
}

const COLUMNS: &str = "id, tool, arguments, source, state, result, created_at";

impl Store {
    /// Queues a proposal; its id.
    pub fn queue_proposal(&self, tool: &str, arguments: &str, source: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO bot_proposals (tool, arguments, source, state, created_at)
             VALUES (?1, ?2, ?3, 'pending', ?4)",
            params![tool, arguments, source, now_ms()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The proposals, oldest first; only the pending ones with `pending_only`.
    pub fn proposals(&self, pending_only: bool) -> Result<Vec<QueuedProposal>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bot_proposals {} ORDER BY id",
            if pending_only {
                "WHERE state = 'pending'"
            } else {
                ""
            }
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn proposal(&self, id: i64) -> Result<Option<QueuedProposal>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM bot_proposals WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// Records the user's decision on a pending proposal; false when it was not pending (decided
    /// already, or no such proposal): a decision is made once.
    pub fn decide_proposal(&self, id: i64, state: ProposalState, result: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE bot_proposals SET state = ?2, result = ?3, decided_at = ?4
             WHERE id = ?1 AND state = 'pending'",
            params![id, state.as_str(), result, now_ms()],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    #[test]
    fn a_proposal_is_queued_listed_and_decided_once() {
        let (_dir, store) = temp_store();
        let id = store
            .queue_proposal("transfer", r#"{"to":"0x1","amount":"1"}"#, "mcp")
            .unwrap();
        let q = store.proposals(true).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0].tool.as_str(), q[0].state),
            ("transfer", ProposalState::Pending)
        );
        assert!(
            store
                .decide_proposal(id, ProposalState::Declined, "declined")
                .unwrap()
        );
        assert!(
            !store
                .decide_proposal(id, ProposalState::Signed, "signed: tx 0x")
                .unwrap(),
            "decided once"
        );
        assert!(store.proposals(true).unwrap().is_empty());
        let all = store.proposals(false).unwrap();
        assert_eq!(all[0].result.as_deref(), Some("declined"));
        assert_eq!(
            store.proposal(id).unwrap().unwrap().state,
            ProposalState::Declined
        );
        assert!(store.proposal(id + 1).unwrap().is_none());
    }
}
