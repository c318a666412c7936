"""Reads the OTLP/HTTP trace exports (protobuf ExportTraceServiceRequest) in a directory and
prints, for every span name (prefixed by the exporting peer when several did), when it starts
after its trace's first span and how long it takes (p50 over the traces of HTTP requests), in
the order the steps start.

    python3 otlp_spans.py DIRECTORY

Only the few field numbers needed are decoded: resource_spans 1 -> resource 1 (attributes 1:
key 1, value 2 -> string_value 1; the peer is `service.instance.id`) and scope_spans 2 -> spans 2
(trace_id 1, name 5, start_time_unix_nano 7, end_time_unix_nano 8).
"""
import collections
import glob
import statistics
import struct
import sys


def varint(data, index):
    value = shift = 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, index


def fields(data):
    index = 0
    while index < len(data):
        key, index = varint(data, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, index = varint(data, index)
        elif wire == 1:
            value, index = data[index:index + 8], index + 8
        elif wire == 2:
            length, index = varint(data, index)
            value, index = data[index:index + length], index + length
        elif wire == 5:
            value, index = data[index:index + 4], index + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, value


def spans(directory):
    for path in sorted(glob.glob(directory + "/*.pb")):
        with open(path, "rb") as export:
            data = export.read()
        for number, resource_spans in fields(data):
            if number != 1:
                continue
            peer = instance(resource_spans)
            for number, scope_spans in fields(resource_spans):
                if number != 2:
                    continue
                for number, span in fields(scope_spans):
                    if number != 2:
                        continue
                    record = {"peer": peer}
                    for field, value in fields(span):
                        if field == 1:
                            record["trace"] = value.hex()
                        elif field == 5:
                            record["name"] = value.decode()
                        elif field == 7:
                            record["start"] = struct.unpack("<Q", value)[0]
                        elif field == 8:
                            record["end"] = struct.unpack("<Q", value)[0]
                    yield record


def instance(resource_spans):
    for number, resource in fields(resource_spans):
        if number != 1:
            continue
        for number, attribute in fields(resource):
            if number != 1:
                continue
            parts = dict(fields(attribute))
            if parts.get(1) == b"service.instance.id" and 2 in parts:
                return dict(fields(parts[2])).get(1, b"").decode()
    return ""


def main():
    traces = collections.defaultdict(list)
    every = list(spans(sys.argv[1]))
    several = len({span["peer"] for span in every}) > 1
    for span in every:
        if several:
            span["name"] = "%s %s" % (span["peer"], span["name"])
        traces[span["trace"]].append(span)
    steps = collections.defaultdict(list)
    for members in traces.values():
        # Only traces of requests (a server span named by its HTTP route): the peer's own
        # background work, such as moving recently used models when it stops, is left out.
        if not any(span["name"].split(" ")[-1].startswith("/") for span in members):
            continue
        first = min(span["start"] for span in members)
        for span in members:
            steps[span["name"]].append(((span["start"] - first) / 1e6, (span["end"] - span["start"]) / 1e6))
    print("| step (span) | spans | starts at p50 (ms) | takes p50 (ms) |")
    print("|---|---:|---:|---:|")
    for name, times in sorted(steps.items(), key=lambda item: statistics.median(start for start, _ in item[1])):
        print("| %s | %d | %.3f | %.3f |" % (name, len(times), statistics.median(start for start, _ in times),
                                          statistics.median(duration for _, duration in times)))


main()
