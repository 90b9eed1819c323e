// libFuzzer entry point for the HTTP/1.1 request parser. Built by Fuzz/run.sh together with
// the parser's sources (no package build), with -sanitize=fuzzer,address.
//
// Besides "does not crash, hang or read out of bounds", each input is checked differentially:
// parsing it from one buffer and parsing it in small pieces (split size taken from the first
// byte) must give the same requests and the same error, since a server receives the same
// bytes split arbitrarily by TCP.

struct Outcome: Equatable {
    var requests: [String] = []
    var errorStatus: Int?
    var idleAtEnd = true
}

func describe(_ r: HTTPRequest) -> String {
    var s = "\(r.method.rawValue) \(r.head.target) \(r.head.version) ka=\(r.head.keepAlive) "
    s += "expect=\(r.head.expectsContinue) framing=\(r.head.framing) body=\(r.body.count)"
    for f in r.headers { s += "|\(f.name):\(f.value)" }
    return s
}

func run(_ bytes: [UInt8], step: Int, limits: HTTPLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var out = Outcome()
    var i = 0
    repeat {
        let end = min(bytes.count, i + step)
        parser.append(bytes[i ..< end])
        i = end
        do {
            while let event = try parser.next() {
                if case .request(let r) = event {
                    out.requests.append(describe(r))
                    // Exercise the derived views too.
                    _ = r.query.items.count
                    _ = r.bodyString.count
                }
            }
        } catch let e as HTTPError {
            out.errorStatus = e.status.code
            return out
        } catch {
            fatalError("parser threw a non-HTTPError: \(error)")
        }
    } while i < bytes.count
    out.idleAtEnd = parser.isIdle
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var limits = HTTPLimits()
    // Small limits so that random inputs reach the limit paths too.
    limits.maxRequestLineBytes = 200
    limits.maxHeaderBytes = 600
    limits.maxHeaderCount = 12
    limits.maxBodyBytes = 2000
    let whole = run(bytes, step: max(1, bytes.count), limits: limits)
    let step = 1 + Int(bytes.first ?? 0) % 13
    let pieces = run(bytes, step: step, limits: limits)
    if whole != pieces {
        fatalError("split-dependent result (step \(step)):\n  whole:  \(whole)\n  pieces: \(pieces)")
    }
    if let status = whole.errorStatus, !(400 ..< 600).contains(status) {
        fatalError("error with non-error status \(status)")
    }
    return 0
}
