package io.github.tfl1l2.savedmodel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.types.TFloat32;

/**
 * The central finite difference of the Keras CNN's cross-entropy with respect to one element of one
 * variable: the loss is computed from the model's own {@code serving_default} call (the graph
 * tensor its SignatureDef names, not the inlined copy) and summed in double precision; the element
 * is moved with {@code AssignVariableOp} and restored afterwards.
 */
final class FiniteDifference {
  private final Session session;
  private final String served;
  private final String input;
  private final Operand<TFloat32> read;
  private final Placeholder<TFloat32> value;
  private final Op assign;
  private final int element;
  private Shape shape;

  FiniteDifference(Session session, Ops tf, Path dir, Operand<?> handle, int element) {
    this.session = session;
    this.element = element;
    SavedModel savedModel;
    try {
      savedModel = SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    var signature = savedModel.getMetaGraphs(0).getSignatureDefOrThrow("serving_default");
    served = signature.getOutputsOrThrow(KerasCnn.OUTPUT).getName();
    input = signature.getInputsOrThrow(KerasCnn.INPUT).getName();
    read = tf.readVariableOp(handle, TFloat32.class);
    value = tf.placeholder(TFloat32.class);
    assign = tf.assignVariableOp(handle, value);
  }

  /** (L(w + h) − L(w − h)) / (the float32 distance between the two values actually set). */
  double slope(double h, float[] pixels, int[] labels) {
    float[] original;
    try (Result r = session.runner().fetch(read).run()) {
      TFloat32 t = (TFloat32) r.get(0);
      shape = t.shape();
      original = new float[(int) shape.size()];
      t.copyTo(DataBuffers.of(original, false, false));
    }
    float w = original[element];
    float plus = (float) (w + h);
    float minus = (float) (w - h);
    double lossPlus = lossWith(original, plus, pixels, labels);
    double lossMinus = lossWith(original, minus, pixels, labels);
    set(original);
    return (lossPlus - lossMinus) / ((double) plus - (double) minus);
  }

  private double lossWith(float[] original, float w, float[] pixels, int[] labels) {
    float[] moved = original.clone();
    moved[element] = w;
    set(moved);
    try (TFloat32 x = KerasCnn.tensor(pixels);
        Result r = session.runner().feed(input, x).fetch(served).run()) {
      return KerasCnn.crossEntropy(TestModels.values(r.get(0)), labels);
    }
  }

  private void set(float[] values) {
    try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(values, true, false))) {
      session.runner().feed(value, t).addTarget(assign).run();
    }
  }
}
