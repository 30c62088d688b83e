// Declares a virtual parameter whose script returns nothing usable.
declare("VirtualParameters.no_result", { value: Date.now() });
