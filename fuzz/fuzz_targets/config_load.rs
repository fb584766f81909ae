//! The configuration loader (`splicer_config::Config::from_toml_str`, what `splicer run
//! --config` and `splicer check` use) on arbitrary text.
//!
//! Checks: no input panics the parser or the validation; a configuration it accepts
//! passes `validate` again, saves (`to_toml`, what the `save` command writes) to text
//! that loads back to an equal configuration, and can be turned into the data plane's
//! farm, services and EAL arguments without panicking (those functions panic only on
//! configurations that failed validation).

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_config::{Config, FarmIds};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml_str(text) {
        Ok(c) => c,
        Err(e) => {
            // Every error names what is wrong, on one line (`splicer: error: ...`).
            let _ = e.to_string();
            return;
        }
    };
    config
        .validate()
        .expect("an accepted configuration validates");
    let saved = config.to_toml();
    let again = Config::from_toml_str(&saved)
        .unwrap_or_else(|e| panic!("saved configuration does not load: {e}\n{saved}"));
    assert_eq!(
        again, config,
        "save/load changed the configuration\n{saved}"
    );

    let mut ids = FarmIds::default();
    let plan = config.plan(&mut ids);
    assert_eq!(plan.farm.reals.len(), config.reals.len());
    // Planning again with the same ids keeps every index.
    let replan = config.plan(&mut ids);
    assert_eq!(
        replan.farm, plan.farm,
        "re-planning moved reals or virtuals"
    );
    for i in 0..config.virtuals.len() {
        assert!(config.virtual_port_index(i) < config.ports.len());
    }
    let args = config.eal_args("splicer");
    assert_eq!(args[0], "splicer");
    let _ = config.eal_lcore_count();
});
