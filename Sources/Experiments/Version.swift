/// simrun's version: recorded in every summary and sweep database, and part of
/// the key a sweep stores each run under, so results from another version are
/// rerun rather than reused. Raise it with every change that alters results.
public enum SimRunVersion {
    public static let current = "0.8.0"
}
