// A provision with a bug: reading a property of undefined raises a TypeError after a real
// declaration, which must become a fault on this channel and leave other channels alone.
const model = declare("Device.DeviceInfo.ModelName", { value: 1 });
const settings = undefined;
declare("Device.DeviceInfo.ProvisioningCode", { value: Date.now() }, { value: model.value[0] + settings.suffix });
