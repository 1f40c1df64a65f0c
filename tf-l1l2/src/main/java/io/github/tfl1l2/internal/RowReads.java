package io.github.tfl1l2.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Concat;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Reshape;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * Row reads of a resource variable: which reads are row reads, and the row-sparse gradient a set of
 * them gives ({@link DataGradients#gradients}).
 */
final class RowReads {
  /** The op that reads rows of a resource variable's handle. */
  static final String RESOURCE_GATHER = "ResourceGather";

  private static final String GATHER_V2 = "GatherV2";

  private RowReads() {}

  /**
   * Refuses a {@code ResourceGather} of {@code variable} that is not a row read: one with a {@code
   * batch_dims} other than 0 (it gathers within each batch entry, not whole rows), or of a variable
   * whose shape is not fully known (its rows cannot be shaped, nor counted for a dense sum).
   */
  static void requireRowRead(Output<?> variable, GraphOperation gather) {
    long batchDims = gather.attributes().getAttrInt("batch_dims");
    if (batchDims != 0) {
      throw new IllegalArgumentException(
          "the loss reaches resource variable \""
              + variable.op().name()
              + "\" through ResourceGather \""
              + gather.name()
              + "\" with batch_dims="
              + batchDims
              + "; only batch_dims=0 (whole rows) is differentiated");
    }
    DataGradients.fullyKnownShapeOf(
        variable, "the gradient of its ResourceGather \"" + gather.name() + "\"");
  }

  /**
   * The gathers through which the loss reaches {@code read}, a {@code ReadVariableOp} of {@code
   * variable}, when they are all row reads: {@code GatherV2(read, indices, axis)} with a constant
   * axis 0 and {@code batch_dims} 0, the read not being their indices, on a variable of fully known
   * shape. Null when the read is used otherwise (it is then a dense read; the C++ registry's gather
   * gradient carries those paths into its dense gradient).
   */
  static List<GraphOperation> gathersOverRead(
      Output<?> variable, GraphOperation read, Set<GraphOperation> ancestors) {
    Shape shape = DataGradients.shapeOf(variable);
    if (shape.isUnknown() || shape.hasUnknownDimension() || shape.numDimensions() == 0) {
      return null;
    }
    List<GraphOperation> gathers = new ArrayList<>();
    Output<?> value = read.output(0);
    for (GraphOperation consumer : read.consumers(0)) {
      if (!ancestors.contains(consumer)) {
        continue;
      }
      if (!consumer.type().equals(GATHER_V2)
          || !consumer.input(0).equals(value)
          || consumer.input(1).equals(value)
          || consumer.attributes().getAttrInt("batch_dims") != 0
          || !isConstantZero(consumer.input(2))) {
        return null;
      }
      gathers.add(consumer);
    }
    return gathers.isEmpty() ? null : gathers;
  }

  /** Whether {@code axis} is the output of a scalar {@code Const} holding 0. */
  private static boolean isConstantZero(Output<?> axis) {
    if (!(axis.op() instanceof GraphOperation op) || !op.type().equals("Const")) {
      return false;
    }
    TensorProto value = op.attributes().getAttrValueProto("value").getTensor();
    if (value.getTensorShape().getDimCount() != 0) {
      return false;
    }
    if (value.getIntValCount() == 1) {
      return value.getIntVal(0) == 0;
    }
    if (value.getInt64ValCount() == 1) {
      return value.getInt64Val(0) == 0;
    }
    ByteBuffer content = value.getTensorContent().asReadOnlyByteBuffer();
    content.order(ByteOrder.LITTLE_ENDIAN);
    if (value.getDtype() == DataType.DT_INT32 && content.remaining() == Integer.BYTES) {
      return content.getInt() == 0;
    }
    if (value.getDtype() == DataType.DT_INT64 && content.remaining() == Long.BYTES) {
      return content.getLong() == 0;
    }
    return false;
  }

  /**
   * The row-sparse gradient of {@code variable} from its row reads' gradients (each of shape {@code
   * indices.shape + row}) and indices: values reshaped to {@code [n, row…]}, indices to {@code
   * [n]}, several reads concatenated (their indices as {@code int64} when their dtypes differ).
   */
  @SuppressWarnings("unchecked")
  static VariableGradient concatenate(
      Scope scope, Output<?> variable, List<Output<?>> values, List<Output<?>> indices) {
    Shape shape = DataGradients.fullyKnownShapeOf(variable, "a row-sparse gradient");
    long[] rowsShape = shape.asArray().clone();
    rowsShape[0] = -1;
    Operand<TInt64> valuesShape = Constant.vectorOf(scope, rowsShape);
    Operand<TInt64> flat = Constant.vectorOf(scope, new long[] {-1});
    boolean mixed = indices.stream().map(Output::dataType).distinct().count() > 1;
    List<Operand<TType>> rows = new ArrayList<>();
    List<Operand<TType>> at = new ArrayList<>();
    for (int k = 0; k < values.size(); k++) {
      rows.add(Reshape.create(scope, (Operand<TType>) values.get(k), valuesShape));
      Operand<TType> index = Reshape.create(scope, (Operand<TType>) indices.get(k), flat);
      if (mixed) {
        index = (Operand<TType>) (Operand<?>) Cast.create(scope, index, TInt64.class);
      }
      at.add(index);
    }
    if (rows.size() == 1) {
      return VariableGradient.rowSparse(variable, rows.get(0).asOutput(), at.get(0).asOutput());
    }
    Operand<TNumber> axis = (Operand<TNumber>) (Operand<?>) Constant.scalarOf(scope, 0);
    return VariableGradient.rowSparse(
        variable,
        Concat.create(scope, rows, axis).asOutput(),
        Concat.create(scope, at, axis).asOutput());
  }
}
