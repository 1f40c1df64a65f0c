/**
 * Inlining a signature's function into the loaded graph for training: {@code FunctionInliner}
 * copies the body op by op, each capability it lacks is one {@code NodeRewrite} class ({@code
 * ImplementationSelection}: the generic member of a Keras implementation pair; {@code
 * WhileUnrolling}: a loop with a trip count known when the graph is built, one body copy per
 * iteration; {@code TensorListElements}: list reads and writes at static indices as element
 * tensors; {@code ControlFlowAsCall}: control flow that no variable reaches stays a call), helped
 * by {@code StaticValues} (build-time values of small integer tensors) and {@code TensorLists}, and
 * {@code GradientCoverage} refuses, naming the node, an op on a path from a trainable variable to
 * an output that no gradient passes. For Keras's training mode, {@code TrainingModeCall} inlines
 * the model's {@code training=True} call in place of the signature's function, {@code
 * TrainingStateWrites} (a {@code NodeRewrite}) builds the only writes it may make (moving
 * statistics, a random generator's state), and {@code ModelLosses} sums the model's saved
 * regularization-loss functions. Which ops write state is one rule, {@code ResourceWrites}, that
 * the inliner (which refuses them) and {@code TrainingStateWrites} share. {@code SignatureInliner}
 * (TF2, Keras) and {@code GraphSignature} (TF1, nothing inlined) give a signature's {@code
 * SignatureBody}.
 *
 * <p><b>Not API:</b> public only so that the facade {@code io.github.tfl1l2.savedmodel} can call
 * it; it may change in any release.
 *
 * <p><b>May depend on:</b> {@code io.github.tfl1l2.savedmodel.load}, the facade's value types
 * ({@code SavedModelException}), {@code io.github.tfl1l2.internal}, TensorFlow-Java. Nothing of
 * {@code export}.
 */
package io.github.tfl1l2.savedmodel.inline;
