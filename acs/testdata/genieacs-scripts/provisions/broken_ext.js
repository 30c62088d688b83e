// An extension that fails: the error becomes this channel's fault.
const user = ext("goldens-ext", "broken", "radius");
declare("Device.Users.User.1.Username", { value: Date.now() }, { value: user });
