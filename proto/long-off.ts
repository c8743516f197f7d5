// 64-bit protobuf fields (TSC, guest-physical address, deadlines) travel as
// JS numbers: exact below 2^53, which virtual time does not reach. Must be
// evaluated before the generated code, which reads util.Long at load.
import protobuf from "protobufjs/minimal.js";

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
