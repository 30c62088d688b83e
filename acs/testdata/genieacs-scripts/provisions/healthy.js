// Runs beside the broken provisions on its own channel: its write must go through.
declare("Device.WiFi.SSID.2.SSID", { value: Date.now() }, { value: "still-configured" });
