//! Finds DPDK 22.11 with pkg-config, generates the raw bindings with bindgen and compiles the C
//! shim that turns DPDK's `static inline` fast-path functions into real symbols.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const INSTALL: &str =
    "install the Debian packages: apt-get install libdpdk-dev dpdk pkg-config clang libclang-dev";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/wrapper.h");
    println!("cargo::rerun-if-changed=src/shim.c");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG");

    // Shared linking on purpose: the shared EAL loads every installed PMD from its plugin
    // directory at start, so net_tap, net_ring, af_packet... work with no link-time reference.
    // `--static` would drag in ~180 driver archives that need `+whole-archive`.
    let lib = match pkg_config::Config::new()
        .atleast_version("22.11")
        .statik(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(_) => {
            // One line, instead of pkg-config's multi-line report: what is wrong and the fix.
            match modversion() {
                Some(v) => println!(
                    "cargo::error=libdpdk {v} found by pkg-config, but this crate needs DPDK \
                     22.11: {INSTALL}"
                ),
                None => {
                    println!("cargo::error=libdpdk (DPDK 22.11) not found by pkg-config: {INSTALL}")
                }
            }
            return;
        }
    };
    // rte_eth_from_rings lives in the net_ring PMD, which libdpdk.pc does not list.
    println!("cargo::rustc-link-lib=dylib=rte_net_ring");

    let cflags = raw_cflags();
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    for inc in &lib.include_paths {
        println!("cargo::metadata=include={}", inc.display());
    }

    let mut shim = cc::Build::new();
    shim.file("src/shim.c")
        .define("ALLOW_EXPERIMENTAL_API", None)
        .opt_level(3)
        .warnings(true)
        .extra_warnings(true)
        // DPDK headers trip these on their own; they say nothing about the shim.
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-sign-compare");
    for f in &cflags {
        shim.flag(f);
    }
    shim.compile("splicer_dpdk_shim");

    let Some(bindings) = generate_bindings(&cflags) else {
        return;
    };
    bindings
        .write_to_file(out.join("dpdk_bindings.rs"))
        .expect("write bindings");
}

/// bindgen's output, or `None` after a one-line cargo error when libclang is missing (bindgen
/// panics with a long explanation then).
fn generate_bindings(cflags: &[String]) -> Option<bindgen::Bindings> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| bindgen_builder(cflags).generate());
    std::panic::set_hook(quiet);
    match result {
        Ok(Ok(b)) => Some(b),
        Ok(Err(e)) => panic!("bindgen failed on the DPDK headers: {e}"),
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("bindgen panicked");
            let first = why.lines().next().unwrap_or_default();
            println!("cargo::error=bindgen could not run libclang ({first}): {INSTALL}");
            None
        }
    }
}

fn bindgen_builder(cflags: &[String]) -> bindgen::Builder {
    bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_args(cflags)
        .clang_arg("-DALLOW_EXPERIMENTAL_API")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        // The RTE_BIT64()-style flag macros (RTE_ETH_RSS_*, RTE_MBUF_F_*) are only evaluated
        // when bindgen falls back to clang for macros it cannot parse itself.
        .clang_macro_fallback()
        .allowlist_function("rte_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|rte_.*|RING_F_.*|SOCKET_ID_ANY|LCORE_ID_ANY")
        // Thread-locals come out as plain statics, which would read the wrong memory.
        .blocklist_item("per_lcore_.*")
        // Packed structs that contain aligned ones: rustc rejects bindgen's layout for them.
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_arp_hdr")
        // Debug cannot be derived on packed types; nothing needs it on raw structs.
        .derive_debug(false)
        .derive_default(true)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .generate_comments(false)
        // Match the workspace's rust-version, so the output does not use newer syntax.
        .rust_target(bindgen::RustTarget::stable(80, 0).expect("a Rust version bindgen knows"))
}

/// `pkg-config --modversion libdpdk`, if pkg-config knows the package at all.
fn modversion() -> Option<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(pkg_config)
        .args(["--modversion", "libdpdk"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The compiler flags exactly as `pkg-config --cflags libdpdk` prints them. The pkg-config
/// crate keeps only -I/-D and drops `-include rte_config.h -march=corei7`, which the DPDK
/// headers need (the first defines RTE_* build constants, the second enables the SSE4.2 code
/// paths the inline functions were written for).
fn raw_cflags() -> Vec<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = Command::new(&pkg_config)
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|e| panic!("running {pkg_config} --cflags libdpdk: {e}"));
    assert!(
        out.status.success(),
        "{pkg_config} --cflags libdpdk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("pkg-config output is UTF-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
