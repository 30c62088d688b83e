// Forgets to return {writable, value}: GenieACS refuses the result.
declare("Device.DeviceInfo.UpTime", { value: Date.now() });
