#!/usr/bin/env python3
"""Generates .snmprec recordings of GPON OLTs for snmpsim (deterministic, standard library only).

Usage: gen_olt_snmprec.py OUT_DIR

Writes, each community = file name without extension:

huawei-olt.snmprec  Huawei MA5600T shape (HUAWEI-XPON-MIB): frame 0, slots 1-2, 8 PONs each,
                    32 ONTs per PON = 512 ONTs, indexed <ifIndex>.<ontId> with ifIndex
                    125<<25 | frame<<19 | slot<<13 | port<<8 (above 2^31). Scenario:
                      * PON 0/1/3: every ONT down, LastDownCause 2 (LOSi/LOBi: a fibre cut);
                      * PON 0/2/5: ONTs 0-19 down, cause 13 (dying gasp: a power outage);
                      * ONT 0/1/0 #7 down with cause 9 (reset), ONT 0/2/1 #30 down with cause 1 (LOS);
                      * everything else up. Offline ONTs report 2147483647 in the DDM columns.
                    ONT Rx = -(1500 + (slot*1000 + port*37 + ont*13) % 1200) centi-dBm, i.e. a
                    value the test recomputes; Tx = 200 + ont; OLT Rx raw = 10000 - 2000 - ont*10.
                    Serials: 8 bytes, "TPLG" + (slot<<24 | port<<16 | ont) big-endian.
zte-olt.snmprec     ZTE C320 shape: slot 1, PONs 1-4, 16 ONUs each (onuId 1-16); PON 1/2 down with
                    phase 2 (LOS, firmware V2.x numbering), ONU 1/3/5 phase 5 (dying gasp); Rx raw
                    = (rx + 30) / 0.002 with rx = -(18 + onu*0.25) dBm; offline Rx 65535, OLT Rx
                    -80000.
unknown-olt.snmprec A device whose sysObjectID is Nokia's (1.3.6.1.4.1.637.61.1): no profile.

The layout is documented so tests can derive expectations from it; the recording is rebuilt at
test time, never edited by hand.
"""

import argparse
import os

HW_B = "1.3.6.1.4.1.2011.6.128.1.1.2"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
SENTINEL = 2147483647


def oid_key(line):
    return [int(p) for p in line.split("|", 1)[0].split(".")]


def write(path, records):
    records.sort(key=oid_key)
    with open(path, "w", encoding="ascii") as f:
        for r in records:
            f.write(r + "\n")


def system(records, sys_oid, descr):
    records.append("1.3.6.1.2.1.1.1.0|4|" + descr)
    records.append("1.3.6.1.2.1.1.2.0|6|" + sys_oid)
    records.append("1.3.6.1.2.1.1.3.0|67|123456")
    records.append("1.3.6.1.2.1.1.5.0|4|snmprec-olt")


def hw_ifindex(frame, slot, port):
    return (125 << 25) | (frame << 19) | (slot << 13) | (port << 8)


def date_hex(year, month, day, hour, minute):
    return "%04x%02x%02x%02x%02x0000" % (year, month, day, hour, minute)


def huawei(out):
    r = []
    system(r, "1.3.6.1.4.1.2011.2.248", "Huawei Integrated Access Software (snmprec)")
    for slot in (1, 2):
        for port in range(8):
            ifx = hw_ifindex(0, slot, port)
            r.append("%s.%d|4|GPON 0/%d/%d" % (IF_NAME, ifx, slot, port))
            for ont in range(32):
                idx = "%d.%d" % (ifx, ont)
                cause = None
                if slot == 1 and port == 3:
                    cause = 2
                elif slot == 2 and port == 5 and ont < 20:
                    cause = 13
                elif (slot, port, ont) == (1, 0, 7):
                    cause = 9
                elif (slot, port, ont) == (2, 1, 30):
                    cause = 1
                sn = "54504c47%02x%02x%04x" % (slot, port, ont)
                r.append("%s.43.1.3.%s|4x|%s" % (HW_B, idx, sn))
                r.append("%s.43.1.9.%s|4|cust-%d-%d-%d" % (HW_B, idx, slot, port, ont))
                r.append("%s.46.1.15.%s|2|%d" % (HW_B, idx, 2 if cause else 1))
                r.append("%s.46.1.22.%s|4x|%s" % (HW_B, idx, date_hex(2026, 11, 1, 8, ont % 60)))
                r.append("%s.46.1.23.%s|4x|%s" % (HW_B, idx, date_hex(2026, 11, 20, 3, 14) if cause else date_hex(2026, 10, 30, 2, 0)))
                r.append("%s.46.1.24.%s|2|%d" % (HW_B, idx, cause if cause else -1))
                dg = date_hex(2026, 11, 20, 3, 14) if cause == 13 else "0000000000000000"
                r.append("%s.46.1.25.%s|4x|%s" % (HW_B, idx, dg))
                rx = -(1500 + (slot * 1000 + port * 37 + ont * 13) % 1200)
                tx = 200 + ont
                olt_rx = 10000 - 2000 - ont * 10
                for col, v in ((3, tx), (4, rx), (6, olt_rx)):
                    r.append("%s.51.1.%d.%s|2|%d" % (HW_B, col, idx, SENTINEL if cause else v))
    write(os.path.join(out, "huawei-olt.snmprec"), r)


def zte(out):
    r = []
    system(r, "1.3.6.1.4.1.3902.1082.1001.320", "ZXA10 C320 (snmprec)")
    onu_b = "1.3.6.1.4.1.3902.1012.3.28"
    opt_b = "1.3.6.1.4.1.3902.1012.3.50.12.1.1"
    olt_rx_b = "1.3.6.1.4.1.3902.1015.1010.11.2.1.2"
    for port in range(1, 5):
        ifx = (1 << 28) | (1 << 16) | (port << 8)
        r.append("%s.%d|4|gpon-olt_1/1/%d" % (IF_NAME, ifx, port))
        for onu in range(1, 17):
            idx = "%d.%d" % (ifx, onu)
            phase = 4
            if port == 2:
                phase = 2
            elif (port, onu) == (3, 5):
                phase = 5
            online = phase == 4
            r.append("%s.1.1.2.%s|4|onu_1/1/%d/%d" % (onu_b, idx, port, onu))
            r.append("%s.1.1.3.%s|4|zcust-%d-%d" % (onu_b, idx, port, onu))
            r.append("%s.1.1.5.%s|4|ZTEG%08X" % (onu_b, idx, port * 1000 + onu))
            r.append("%s.2.1.1.%s|2|1" % (onu_b, idx))
            r.append("%s.2.1.4.%s|2|%d" % (onu_b, idx, phase))
            rx = -(18 + onu * 0.25)
            raw = round((rx + 30) / 0.002)
            r.append("%s.10.%s.1|2|%d" % (opt_b, idx, raw if online else 65535))
            r.append("%s.14.%s.1|2|%d" % (opt_b, idx, round((2.5 + 30) / 0.002) if online else 65535))
            r.append("%s.%s|2|%d" % (olt_rx_b, idx, -21000 - onu * 100 if online else -80000))
    write(os.path.join(out, "zte-olt.snmprec"), r)


def unknown(out):
    r = []
    system(r, "1.3.6.1.4.1.637.61.1", "Nokia ISAM (snmprec)")
    write(os.path.join(out, "unknown-olt.snmprec"), r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    huawei(args.out_dir)
    zte(args.out_dir)
    unknown(args.out_dir)


if __name__ == "__main__":
    main()
