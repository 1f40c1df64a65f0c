/**
 * Gradients TensorFlow's C++ registry lacks, for ops that real training graphs put on the path from
 * a loss to its weights: {@link io.github.tfl1l2.gradients.MissingGradients#register()} registers
 * them process-wide.
 *
 * <p>One package-private class per gradient ({@code XlogyGradient}, {@code CumprodGradient}, …),
 * each written with TF-Java ops after Python TensorFlow's mathematics; {@code GradientOps} holds
 * what several share (the reduction of a broadcast gradient, run-time dtype casts, the zeros an
 * input without a gradient gets) and {@code SparseSegmentGradients} what the three sparse segment
 * reductions share.
 *
 * <p><b>May depend on:</b> TensorFlow-Java ({@code tensorflow-core-api}) only; never on {@code
 * io.github.tfl1l2} or its other packages. {@code io.github.tfl1l2} ({@code L1L2.minimize}) and
 * {@code io.github.tfl1l2.optimizers} call {@code MissingGradients.register()} before they build
 * gradients.
 */
package io.github.tfl1l2.gradients;
