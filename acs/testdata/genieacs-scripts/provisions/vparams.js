// Reads every virtual parameter once per session and writes the PPPoE user name through its
// writable virtual parameter. args: [pppoe user name].
const now = Date.now();
declare("VirtualParameters.wan_mac", { value: now });
declare("VirtualParameters.optical_rx", { value: now });
declare("VirtualParameters.args_probe", { value: now });
declare("VirtualParameters.pppoe_user", { value: now }, { value: args[0] });
