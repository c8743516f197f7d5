// The one entry point to the wire protocol for both sides.
import "./long-off.js";
import { moat } from "./generated/moat.js";

export const { VmExit, VmReply, GuestState, Segment, Event, FaultOrder, VmmCall } = moat;
export type IVmExit = moat.IVmExit;
export type IVmReply = moat.IVmReply;
export type IGuestState = moat.IGuestState;
export type ISegment = moat.ISegment;
export type IEvent = moat.IEvent;
export type IFaultOrder = moat.IFaultOrder;
export type IVmmCall = moat.IVmmCall;
