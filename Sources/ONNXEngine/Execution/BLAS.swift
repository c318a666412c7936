import CBLAS

/// Float and Double matrix products through OpenBLAS.
protocol BLASScalar: Real, TensorElement {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` of shape m×k.
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    )
}

extension Float: BLASScalar {
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

extension Double: BLASScalar {
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// `c (m×n) = alpha * op(a) * op(b) + beta * c`, handling empty dimensions that BLAS rejects.
@inline(__always)
func matrixMultiply<T: BLASScalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
    _ a: UnsafePointer<T>?, _ b: UnsafePointer<T>?, beta: T, _ c: UnsafeMutablePointer<T>?
) throws(ONNXError) {
    // Empty arrays have no base address; only the non-empty paths below dereference.
    guard m > 0, n > 0, let c else { return }
    if k == 0 {
        let (cells, overflow) = m.multipliedReportingOverflow(by: n)
        guard !overflow else { throw Shapes.tooLarge([m, n]) }
        for i in 0..<cells { c[i] = beta == 0 ? 0 : c[i] * beta }
        return
    }
    guard let a, let b else { return }
    // OpenBLAS takes 32-bit dimensions; a tensor may have a dimension of 2^31.
    guard blasint(exactly: m) != nil, blasint(exactly: n) != nil, blasint(exactly: k) != nil else {
        throw .runtime("a \(m)×\(k) by \(k)×\(n) matrix product exceeds BLAS's 32-bit dimensions")
    }
    T.gemm(
        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
        a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: beta, c: c, ldc: n)
}
