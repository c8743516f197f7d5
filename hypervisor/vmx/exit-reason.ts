// Exit reasons are part of the wire protocol; the processor uses the same table.
export { EXIT_REASON_ENTRY_FAILURE, ExitReason, exitReasonName } from "../../proto/exit-reason.js";
