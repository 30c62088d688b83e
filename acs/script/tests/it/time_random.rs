//! Date fixed to the session's clock and Math.random seeded with the device id.

use crate::common::{Runner, TS, logged};
use script::{Arc4Random, End, interval, variance_offset};

fn log_of(src: &str) -> String {
    let mut r = Runner::new();
    let out = r.run(src, 0);
    assert_eq!(out.end, End::Completed(None), "{out:?}");
    logged(&out).join("|")
}

#[test]
fn date_is_the_session_time() {
    assert_eq!(log_of("log(String(Date.now()));"), TS.to_string());
    assert_eq!(log_of("log(String(new Date().getTime()));"), TS.to_string());
    assert_eq!(log_of("log(String(new Date(5).getTime()));"), "5");
    assert_eq!(log_of("log(String(new Date() instanceof Object));"), "true");
    assert_eq!(
        log_of("log(String(Date.UTC(2020, 0, 1)));"),
        "1577836800000"
    );
    assert_eq!(
        log_of("log(String(Date.parse('2020-01-01T00:00:00Z')));"),
        "1577836800000"
    );
}

#[test]
fn date_now_with_an_interval_uses_the_device_offset() {
    let offset = variance_offset(crate::common::DEVICE, 3_600_000.0);
    let want = interval(TS, 3_600_000.0, offset);
    assert_eq!(log_of("log(String(Date.now(3600000)));"), want.to_string());
    assert_eq!(
        log_of("log(String(Date.now(3600000, 3600000)));"),
        want.to_string()
    );
    assert_eq!(
        log_of("log(String(Date.now(3600000, 0)));"),
        interval(TS, 3_600_000.0, 0.0).to_string()
    );
    // Node.js 20 printed these for GenieACS's formula and this device and time.
    assert_eq!(log_of("log(String(Date.now(300000)));"), "1699999975375");
    assert_eq!(
        log_of("log(String(Date.now(86400000, 0)));"),
        "1699920000000"
    );
}

#[test]
fn date_now_with_cron_asks_the_cron_and_applies_the_offset() {
    assert_eq!(
        log_of("log(String(Date.now('0 * * * *', 0)));"),
        "1699999200000"
    );
    let offset = variance_offset(crate::common::DEVICE, 600_000.0);
    let want = ((TS + offset) / 3_600_000.0).floor() * 3_600_000.0 - offset;
    assert_eq!(
        log_of("log(String(Date.now('0 * * * *', 600000)));"),
        want.to_string()
    );
    // An expression the cron does not know fires never: GenieACS answers 0.
    assert_eq!(log_of("log(String(Date.now('1 2 3 4 5')));"), "0");
    let mut r = Runner::new();
    let End::Fault(f) = r.run("Date.now({});", 0).end else {
        panic!()
    };
    assert_eq!(f.message, "Invalid Date.now() argument");
}

#[test]
fn math_random_is_seedrandom_seeded_with_the_device_id() {
    let mut rng = Arc4Random::new(crate::common::DEVICE);
    let want = format!("{}|{}", rng.next_f64(), rng.next_f64());
    assert_eq!(
        log_of("log(String(Math.random())); log(String(Math.random()));"),
        want
    );
    // GenieACS's seeded `inform` provision gave this device this password (live, notes §8).
    assert_eq!(
        log_of("log(Math.trunc(Math.random() * Number.MAX_SAFE_INTEGER).toString(36));"),
        "69t0mkjya1"
    );
    // Each run starts the sequence again, as each GenieACS run seeds a new generator.
    let mut r = Runner::new();
    let a = logged(&r.run("log(String(Math.random()));", 0));
    let b = logged(&r.run("log(String(Math.random()));", 0));
    assert_eq!(a, b);
}

#[test]
fn math_random_seed_reseeds_like_seedrandom() {
    let mut rng = Arc4Random::new("abc");
    assert_eq!(
        log_of("Math.random.seed('abc'); log(String(Math.random()));"),
        rng.next_f64().to_string()
    );
    // A number is flattened to its text and a NUL, as seedrandom flattens it.
    let mut rng = Arc4Random::new("5\0");
    assert_eq!(
        log_of("Math.random.seed(5); log(String(Math.random()));"),
        rng.next_f64().to_string()
    );
    // An object is flattened to its properties three levels deep: "a,b,0\0". Node.js 20 with
    // seedrandom 3.0.5 drew 0.0169027569672887 from it.
    assert_eq!(
        log_of("Math.random.seed({x: 'a', y: {z: 'b'}, w: 0}); log(String(Math.random()));"),
        "0.0169027569672887"
    );
}

#[test]
fn numbers_print_in_other_radixes_as_node_prints_them() {
    // Published provisions make passwords with `Math.random().toString(36).slice(2)`; Node.js
    // 20 printed these.
    assert_eq!(
        log_of(
            "for (const x of [0.07072383286959756, 0.10338438600839538, 0.5, 0.1, 1/3, 123.456]) \
             log(x.toString(36) + ' ' + x.toString(16));"
        ),
        "0.2jnovq4homh 0.121af50539024d|0.3pzi2ha4jfe 0.1a77662cd2b68f|0.i 0.8|\
         0.3lllllllllm 0.1999999999999a|0.c 0.55555555555554|3f.gez4w97ry 7b.74bc6a7ef9dc"
    );
    // Signs, carries, integers past 2^53 (zeros where a double has no digits), radix 2 and 7.
    assert_eq!(
        log_of(
            "for (const x of [-0.5, 1e21, 2**60, 255.5, 1e-7, 0.999999999999, 12345.6789, -987.125]) \
             log(x.toString(36) + ' ' + x.toString(2) + ' ' + x.toString(7));"
        ),
        "-0.i -0.1 -0.3333333333333333334|\
         5v1j4f4ds7c000 1101100011010111001001101011011100010111011110101000000000000000000000 5135235413265003022600000|\
         8rc4kbdvss00 1000000000000000000000000000000000000000000000000000000000000 2031000661631341064200|\
         73.i 11111111.1 513.33333333333333334|\
         0.000061oezo085tl 0.0000000000000000000000011010110101111111001010011010101111001010111101001 0.000000004015062102535220433|\
         0.zzzzzzzx6g9 0.11111111111111111111111111111111111111101110011010001 0.6666666666666621525|\
         9ix.ofuravwu 11000000111001.101011011100110001100011111100010100001 50664.45160162253553|\
         -rf.4i -1111011011.001 -2610.060606060606061"
    );
}
