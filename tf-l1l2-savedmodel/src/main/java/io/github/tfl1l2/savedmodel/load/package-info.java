/**
 * Reading a SavedModel: the file checks made before TensorFlow opens a directory ({@code
 * ModelDirectory}), {@code saved_model.pb} and its tags ({@code SavedModelProto}), the graph's
 * variables and where their trainable flags come from ({@code GraphVariables}, {@code
 * TrainableFlags}, {@code ObjectGraphVariables}), fresh names in a graph ({@code GraphNames}), and
 * what a Keras 2 object graph says about training: the root layer's {@code training=True} trace for
 * a signature ({@code TrainingTrace}), the variables a training call may write and the saved
 * regularization-loss functions ({@code KerasObjects}).
 *
 * <p><b>Not API:</b> public only so that the facade {@code io.github.tfl1l2.savedmodel} and its
 * sibling packages can call it; it may change in any release.
 *
 * <p><b>May depend on:</b> the facade's value types ({@code ModelVariable}, {@code
 * TrainableSource}, {@code SavedModelException}), never its classes with behaviour; {@code
 * io.github.tfl1l2.internal}; TensorFlow-Java. Nothing of {@code export} or {@code inline}.
 */
package io.github.tfl1l2.savedmodel.load;
