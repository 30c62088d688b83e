"""Drives PyPI's tplinkrouterc6u (GPL-3.0, run out of process, never copied) against xx230v-sim.

Usage: xx230v_client.py URL MODE, password in $SIM_PASSWORD. Prints one JSON object.
MODE: `read` logs in, reads firmware, status, IPv4 status and the raw GPON object, logs out;
`badpw` tries a login that must fail; `gcm` does `read` with the GCM client class.
"""
import json
import os
import sys

from tplinkrouterc6u import TPLinkEXClient, TPLinkEXClientGCM


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    password = os.environ["SIM_PASSWORD"]
    cls = TPLinkEXClientGCM if mode == "gcm" else TPLinkEXClient
    if mode == "badpw":
        client = cls(url, password + "-wrong", username="user", timeout=10)
        try:
            client.authorize()
        except Exception as e:  # the client raises ClientException with the firmware's code
            print(json.dumps({"error": str(e)}))
            return
        print(json.dumps({"error": None}))
        return
    client = cls(url, password, username="user", timeout=10)
    client.authorize()
    try:
        fw = client.get_firmware()
        st = client.get_status()
        v4 = client.get_ipv4_status()
        _, optics = client.req_act([client.ActItem(client.ActItem.GL, "DEV2_OPTC_GPON_CFG",
                                                   attrs=["RXPower", "TXPower", "status"])])
        out = {
            "model": fw.model,
            "hardware": fw.hardware_version,
            "firmware": fw.firmware_version,
            "lan_mac": st.lan_macaddr,
            "lan_ip": st.lan_ipv4_addr,
            "wan_mac": st.wan_macaddr,
            "wan_ip": st.wan_ipv4_addr,
            "wan_gateway": st.wan_ipv4_gateway,
            "wifi_2g": st.wifi_2g_enable,
            "wifi_5g": st.wifi_5g_enable,
            "mem_usage": st.mem_usage,
            "cpu_usage": st.cpu_usage,
            "wan_netmask": v4.wan_ipv4_netmask,
            "wan_dns1": v4.wan_ipv4_pridns,
            "optics": optics[0],
        }
    finally:
        client.logout()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
