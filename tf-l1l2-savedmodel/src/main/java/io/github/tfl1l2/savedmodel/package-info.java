/**
 * SavedModels and the {@code regularization} signature: export a session with it, load an existing
 * SavedModel to measure its penalty, re-export it regularized, or fine-tune it.
 *
 * <p><b>API:</b> {@link io.github.tfl1l2.savedmodel.LoadedSavedModel} (open, list and select
 * variables, penalty, {@code exportRegularized}), {@link
 * io.github.tfl1l2.savedmodel.RegularizedSavedModel} (export of a session of your own), {@link
 * io.github.tfl1l2.savedmodel.TrainableSavedModel} (fine-tuning a TF2/Keras SavedModel), {@link
 * io.github.tfl1l2.savedmodel.RegularizationSignature} (the signature's key, outputs and config),
 * and the values they return: {@link io.github.tfl1l2.savedmodel.ModelVariable}, {@link
 * io.github.tfl1l2.savedmodel.PenaltyReport}, {@link io.github.tfl1l2.savedmodel.TrainableSource},
 * {@link io.github.tfl1l2.savedmodel.ExportDirectory}, {@link
 * io.github.tfl1l2.savedmodel.SavedModelException}.
 *
 * <p><b>Package-private, by role:</b>
 *
 * <ul>
 *   <li><i>Reading a model:</i> {@code ModelDirectory} (file checks before TensorFlow opens them),
 *       {@code SavedModelProto} ({@code saved_model.pb}, tags), {@code GraphVariables}, {@code
 *       TrainableFlags}, {@code ObjectGraphVariables}.
 *   <li><i>The signature:</i> {@code RegularizationOutputs} (its ops, emitted once through {@code
 *       L1L2.sums}), {@code SignatureConfig} (the {@code L1L2} read back), {@code SignatureDefs},
 *       {@code RegularizationFunction} and {@code ObjectGraphSignature} (the signature in a TF2
 *       object graph), {@code PenaltyMeasurement}.
 *   <li><i>Writing:</i> {@code RegularizedCopy}, {@code ModelFiles}, {@code AtomicDirectory}.
 *   <li><i>Fine-tuning:</i> {@code FunctionInliner} (a signature's function as ordinary ops),
 *       {@code GradientCoverage} (every inlined op has a gradient), {@code GraphNames}.
 * </ul>
 *
 * <p><b>May depend on:</b> the public API of {@code io.github.tfl1l2} ({@code L1L2}, {@code
 * Reduction}, {@code ParameterSums}), {@code io.github.tfl1l2.internal} ({@code FloatingTypes}),
 * TensorFlow-Java. No natives, no command-line or chart library.
 */
package io.github.tfl1l2.savedmodel;
