import CGSL

/// Linear least squares through GSL: find c minimising Σ wᵢ (yᵢ − xᵢ·c)².
public enum LeastSquares {
    public struct Fit: Sendable {
        public let coefficients: [Double]
        /// The weighted residual sum of squares.
        public let chiSquared: Double
    }

    public enum FitError: Error, Equatable, CustomStringConvertible {
        case noRows, ragged, singular
        public var description: String {
            switch self {
            case .noRows: "no rows to fit"
            case .ragged: "rows have different lengths"
            case .singular: "the rows do not determine the coefficients"
            }
        }
    }

    /// - Parameters:
    ///   - rows: one feature vector per observation (include a 1 for an intercept).
    ///   - weights: per-row weights (nil: all 1). Weights of 1/y² minimise relative error.
    public static func fit(rows: [[Double]], y: [Double], weights: [Double]? = nil) throws -> Fit {
        guard let p = rows.first?.count, p > 0, rows.count == y.count else { throw FitError.noRows }
        guard rows.allSatisfy({ $0.count == p }) else { throw FitError.ragged }
        let n = rows.count
        guard n >= p else { throw FitError.singular }
        GSL.disableAbortOnError
        let X = gsl_matrix_alloc(n, p)!, Y = gsl_vector_alloc(n)!, W = gsl_vector_alloc(n)!
        let c = gsl_vector_alloc(p)!, cov = gsl_matrix_alloc(p, p)!, work = gsl_multifit_linear_alloc(n, p)!
        defer {
            gsl_matrix_free(X); gsl_vector_free(Y); gsl_vector_free(W); gsl_vector_free(c)
            gsl_matrix_free(cov); gsl_multifit_linear_free(work)
        }
        for i in 0..<n {
            for j in 0..<p { gsl_matrix_set(X, i, j, rows[i][j]) }
            gsl_vector_set(Y, i, y[i])
            gsl_vector_set(W, i, weights?[i] ?? 1)
        }
        var chi = 0.0
        guard gsl_multifit_wlinear(X, W, Y, c, cov, &chi, work) == GSL_SUCCESS else { throw FitError.singular }
        let coefficients = (0..<p).map { gsl_vector_get(c, $0) }
        guard coefficients.allSatisfy(\.isFinite) else { throw FitError.singular }
        return Fit(coefficients: coefficients, chiSquared: chi)
    }
}
