/// The chunked transfer coding (RFC 9112 §7.1).
extension HTTPRequestParser {
    /// Parses `chunk-size [chunk-ext] CRLF` (RFC 9112 §7.1); nil when the line is incomplete.
    mutating func parseChunkSizeLine() throws -> Int? {
        guard let lf = buffer[readIndex...].firstIndex(of: LF) else {
            // A size line has at most 16 hex digits plus extensions; bound it so a client
            // cannot make the server buffer an endless line.
            if buffer.count - readIndex > 1024 { throw HTTPError.badRequest("chunk size line too long") }
            return nil
        }
        // Same bound, checked first, when the whole line is already here, so the outcome never
        // depends on how the bytes were split across reads.
        if lf - readIndex > 1024 { throw HTTPError.badRequest("chunk size line too long") }
        guard lf > readIndex, buffer[lf - 1] == CR else { throw HTTPError.badRequest("bad chunk size line") }
        var size = 0
        var digits = 0
        var i = readIndex
        while i < lf - 1, let v = PercentDecoding.hexValue(buffer[i]) {
            digits += 1
            // 15 hex digits keep the value below Int.max; anything larger is hostile.
            guard digits <= 15 else { throw HTTPError.badRequest("chunk size too large") }
            size = size << 4 | Int(v)
            i += 1
        }
        guard digits > 0 else { throw HTTPError.badRequest("bad chunk size") }
        // Only chunk extensions may follow: BWS ";" ... (RFC 9112 §7.1.1); they are ignored.
        while i < lf - 1, buffer[i] == SP || buffer[i] == HTAB { i += 1 }
        if i < lf - 1 {
            guard buffer[i] == UInt8(ascii: ";") else { throw HTTPError.badRequest("bad chunk size") }
            while i < lf - 1 {
                let b = buffer[i]
                guard b == HTAB || (b >= 0x20 && b != 0x7F) else { throw HTTPError.badRequest("bad chunk extension") }
                i += 1
            }
        }
        if size > limits.maxBodyBytes - body.count {
            throw HTTPError(.contentTooLarge, message: "request body too large")
        }
        readIndex = lf + 1
        return size
    }

    /// Skips the trailer section up to its empty line; trailers count against the header limits.
    mutating func skipTrailers() throws -> Bool {
        while true {
            guard let lf = buffer[readIndex...].firstIndex(of: LF) else {
                if trailerBytes + (buffer.count - readIndex) > limits.maxHeaderBytes + 2 { throw Self.headersTooLarge }
                return false
            }
            if lf == readIndex + 1 && buffer[readIndex] == CR {
                readIndex = lf + 1
                return true
            }
            // Size limits before syntax, in the same order as the check on an incomplete line
            // above, so the status never depends on how the bytes were split (found by fuzzing).
            trailerLines += 1
            trailerBytes += lf + 1 - readIndex
            if trailerLines > limits.maxHeaderCount || trailerBytes > limits.maxHeaderBytes { throw Self.headersTooLarge }
            guard lf > readIndex, buffer[lf - 1] == CR else { throw HTTPError.badRequest("bare LF in trailer section") }
            try buffer.withUnsafeBufferPointer { p in
                _ = try HeadParser.parseField(UnsafeBufferPointer(rebasing: p[readIndex ..< lf - 1]))
            }
            readIndex = lf + 1
        }
    }
}
