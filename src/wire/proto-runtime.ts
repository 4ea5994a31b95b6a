// Imported before any generated protobuf module: uint64 fields (seq, epoch) decode to plain numbers,
// not Long objects. Safe: seq and epoch stay far below 2^53 for the life of a pair.
import protobuf from 'protobufjs/minimal.js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();
