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
 * <p><b>Below the facade</b>, one package per concern, none of them API: {@code
 * io.github.tfl1l2.savedmodel.load} (reading a model), {@code io.github.tfl1l2.savedmodel.export}
 * (the {@code regularization} signature and the written copy), {@code
 * io.github.tfl1l2.savedmodel.inline} (a signature's function as ordinary ops, for training). They
 * use the facade's value types and exception, never its classes with behaviour.
 *
 * <p><b>May depend on:</b> the public API of {@code io.github.tfl1l2} ({@code L1L2}, {@code
 * Reduction}, {@code ParameterSums}), {@code io.github.tfl1l2.internal} ({@code FloatingTypes}),
 * TensorFlow-Java. No natives, no command-line or chart library.
 */
package io.github.tfl1l2.savedmodel;
