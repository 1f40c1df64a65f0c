/**
 * Writing: the {@code regularization} signature's ops and names ({@code RegularizationOutputs},
 * {@code SignatureLayout}, {@code SignatureDefs}), the signature as a function of a TF2 object
 * graph ({@code RegularizationFunction}, {@code ObjectGraphSignature}), the configuration read back
 * ({@code SignatureConfig}), the penalty measured ({@code PenaltyMeasurement}), and the copy of a
 * model written atomically ({@code RegularizedCopy}, {@code ModelFiles}, {@code AtomicDirectory}),
 * with the saver's copies of variables brought up to date first ({@code CheckpointSync}).
 *
 * <p><b>Not API:</b> public only so that the facade {@code io.github.tfl1l2.savedmodel} can call
 * it; it may change in any release.
 *
 * <p><b>May depend on:</b> {@code io.github.tfl1l2.savedmodel.load}, the facade's value types
 * ({@code ModelVariable}, {@code PenaltyReport}, {@code SavedModelException}), the public API of
 * {@code io.github.tfl1l2} ({@code L1L2}, {@code ParameterSums}), TensorFlow-Java. Nothing of
 * {@code inline}.
 */
package io.github.tfl1l2.savedmodel.export;
