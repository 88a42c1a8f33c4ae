//! What the network says is waiting for each modem's SIM (`modem_waiting`): the state message-waiting indications
//! (voicemail, fax, e-mail, video, other) set and clear. [`Store::insert_messages`] applies a message's indications
//! in the transaction that commits it; this module reads the state back for the modem's status.

use simrelay_protocol::{Indication, Waiting, WaitingKind};
use sqlx::Row;

use super::{on_db, Store, StoreError};

const KINDS: [WaitingKind; 5] = [
    WaitingKind::Voicemail,
    WaitingKind::Fax,
    WaitingKind::Email,
    WaitingKind::Video,
    WaitingKind::Other,
];

/// The `kind` column's spelling (the API's).
pub(super) fn kind_name(kind: WaitingKind) -> &'static str {
    match kind {
        WaitingKind::Voicemail => "voicemail",
        WaitingKind::Fax => "fax",
        WaitingKind::Email => "email",
        WaitingKind::Video => "video",
        WaitingKind::Other => "other",
    }
}

/// The statement that applies `indication` to a modem (parameters: modem, kind, then for a set indication its
/// count and the time), and that count: a set indication records its kind, a cleared one (or a count of 0)
/// removes it.
pub(super) fn apply(indication: &Indication) -> (&'static str, Option<Option<i64>>) {
    match (indication.active, indication.count) {
        (false, _) | (true, Some(0)) => (
            "DELETE FROM modem_waiting WHERE modem = $1 AND kind = $2",
            None,
        ),
        (true, count) => (
            "INSERT INTO modem_waiting (modem, kind, count, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (modem, kind) DO UPDATE SET count = excluded.count, updated_at = excluded.updated_at",
            Some(count.map(i64::from)),
        ),
    }
}

impl Store {
    /// What is waiting for `modem`'s SIM, voicemail first.
    pub async fn waiting(&self, modem: &str) -> Result<Vec<Waiting>, StoreError> {
        let rows: Vec<(String, Option<i64>)> = on_db!(self, db => {
            sqlx::query("SELECT kind, count FROM modem_waiting WHERE modem = $1")
                .bind(modem)
                .fetch_all(db.reader())
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        let mut waiting: Vec<Waiting> = rows
            .into_iter()
            .filter_map(|(kind, count)| {
                Some(Waiting {
                    kind: *KINDS.iter().find(|k| kind_name(**k) == kind)?,
                    count: count.and_then(|n| u32::try_from(n).ok()),
                })
            })
            .collect();
        waiting.sort_by_key(|w| w.kind);
        Ok(waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::sample;
    use crate::store::Inserted;

    fn voicemail(active: bool, count: Option<u8>) -> Indication {
        Indication {
            kind: WaitingKind::Voicemail,
            active,
            count,
            store: false,
        }
    }

    #[tokio::test]
    async fn indications_set_and_clear_with_the_message_that_carries_them() {
        for store in crate::store::testing::stores().await {
            assert!(store.waiting("m1").await.expect("read").is_empty());
            let mut two = sample(b"vm2");
            two.indications = vec![
                voicemail(true, Some(2)),
                Indication {
                    kind: WaitingKind::Fax,
                    active: true,
                    count: None,
                    store: true,
                },
            ];
            let Inserted::New(m) = store.insert_message(&two).await.expect("insert") else {
                panic!("new on {}", store.backend);
            };
            assert_eq!(m.indications, two.indications, "kept on the message");
            assert_eq!(
                store
                    .get(m.id)
                    .await
                    .expect("get")
                    .expect("stored")
                    .indications,
                two.indications
            );
            assert_eq!(
                store.waiting("m1").await.expect("read"),
                vec![
                    Waiting {
                        kind: WaitingKind::Voicemail,
                        count: Some(2)
                    },
                    Waiting {
                        kind: WaitingKind::Fax,
                        count: None
                    }
                ],
                "{}",
                store.backend
            );
            assert!(
                store.waiting("m2").await.expect("read").is_empty(),
                "per modem"
            );

            // Cleared, in one batch after a count that it follows.
            let mut five = sample(b"vm5");
            five.indications = vec![voicemail(true, Some(5))];
            let mut cleared = sample(b"vm0");
            cleared.indications = vec![voicemail(false, None)];
            store
                .insert_messages(&[five, cleared])
                .await
                .expect("batch");
            assert_eq!(
                store.waiting("m1").await.expect("read"),
                vec![Waiting {
                    kind: WaitingKind::Fax,
                    count: None
                }]
            );
            // A re-read of the old "2 waiting" is a duplicate and changes nothing.
            assert_eq!(
                store.insert_message(&two).await.expect("again"),
                Inserted::Duplicate
            );
            let mut zero = sample(b"fax0");
            zero.indications = vec![Indication {
                kind: WaitingKind::Fax,
                active: true,
                count: Some(0),
                store: false,
            }];
            store.insert_message(&zero).await.expect("insert");
            assert!(
                store.waiting("m1").await.expect("read").is_empty(),
                "a count of 0 clears, on {}",
                store.backend
            );
        }
    }
}
