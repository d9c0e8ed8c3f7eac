import Foundation

/// File-system calls Foundation does not offer.
public enum FileSystem {
    /// Swaps two paths in one step (Linux renameat2 with RENAME_EXCHANGE, from
    /// <linux/fs.h>; glibc 2.28+): at every moment each name holds the old or the
    /// new folder, never nothing. Returns false where the kernel or file system
    /// cannot exchange, so the caller can fall back to two renames.
    public static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }

    /// Whether a process with this id is running (signal 0 probes without sending).
    public static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    public enum Kind { case missing, file, directory, symbolicLink, other }

    /// What stands at a path, without following a final symbolic link.
    public static func kind(of path: String) -> Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// Whether two paths name the same file (same device and inode), following links.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// A Foundation file error as its system message ("No space left on device"), not a dump of its fields.
    public static func describe(_ error: Error) -> String {
        switch error {
        case let e as CSVWriterError: return e.description
        case let e as SQLiteError: return e.description
        case let e as InputError: return e.description
        default: break
        }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return errorText(Int32(underlying.code))
        }
        if ns.domain == NSPOSIXErrorDomain { return errorText(Int32(ns.code)) }
        return ns.localizedDescription
    }

    /// The message of the last system error, e.g. "No space left on device".
    public static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
