//! GenieACS `config` settings imported into the store are applied when the ACS opens.

use crate::harness;
use std::time::Duration;

#[tokio::test]
async fn imported_genieacs_settings_apply_at_the_next_start() {
    let t = harness::start(harness::quiet(std::path::Path::new("."))).await;
    assert_eq!(t.acs.device_online_threshold(), Duration::from_secs(4));
    let doc = |key: &str, value: &str| acs::store::Op::PutDoc {
        collection: acs::genie::config::COLLECTION.to_owned(),
        name: key.to_owned(),
        body: serde_json::to_vec(&serde_json::json!({"_id": key, "value": value})).unwrap(),
    };
    t.acs
        .write(vec![
            doc("cwmp.deviceOnlineThreshold", "9000"),
            doc(
                "cwmp.sessionTimeout",
                "CASE WHEN DeviceID.ProductClass = 'X' THEN 5 END",
            ),
        ])
        .await
        .unwrap();
    let dir = t.stop().await;
    let t = harness::start_in(dir, harness::quiet(std::path::Path::new("."))).await;
    assert_eq!(t.acs.device_online_threshold(), Duration::from_secs(9));
}
