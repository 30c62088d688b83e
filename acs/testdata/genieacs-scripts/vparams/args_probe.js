// Shows what a virtual parameter's script is given: which attributes were declared with a
// timestamp and a value, and whether it has a current value yet (its own previous result).
const [declaredTimestamps, declaredValues, currentTimestamps, currentValues] = args;
const keys = (o) => Object.keys(o || {}).sort().join("+") || "none";
const previous = currentValues.value ? String(currentValues.value[0]).length : -1;
const described = `t:${keys(declaredTimestamps)} v:${keys(declaredValues)} c:${keys(currentTimestamps)} p:${previous}`;
return { writable: false, value: [described, "xsd:string"] };
