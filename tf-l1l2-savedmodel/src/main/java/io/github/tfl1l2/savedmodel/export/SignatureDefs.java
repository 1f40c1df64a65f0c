package io.github.tfl1l2.savedmodel.export;

import java.util.Map;
import org.tensorflow.Signature;
import org.tensorflow.Signature.TensorDescription;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/** Converts TF-Java {@link Signature}s to the protocol buffers a MetaGraphDef stores. */
public final class SignatureDefs {
  private SignatureDefs() {}

  /**
   * The {@code SignatureDef} that {@code SavedModelBundle.exporter} would write.
   *
   * @param signature a TF-Java signature of graph tensors
   * @return its protocol buffer form: method name, inputs and outputs by name, dtype and shape
   */
  public static SignatureDef of(Signature signature) {
    SignatureDef.Builder def = SignatureDef.newBuilder().setMethodName(signature.methodName());
    for (Map.Entry<String, TensorDescription> input : signature.getInputs().entrySet()) {
      def.putInputs(input.getKey(), tensorInfo(input.getValue()));
    }
    for (Map.Entry<String, TensorDescription> output : signature.getOutputs().entrySet()) {
      def.putOutputs(output.getKey(), tensorInfo(output.getValue()));
    }
    return def.build();
  }

  private static TensorInfo tensorInfo(TensorDescription tensor) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    Shape s = tensor.shape;
    if (s.isUnknown()) {
      shape.setUnknownRank(true);
    } else {
      for (int i = 0; i < s.numDimensions(); i++) {
        shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(s.get(i)));
      }
    }
    return TensorInfo.newBuilder()
        .setName(tensor.name)
        .setDtype(tensor.dataType)
        .setTensorShape(shape)
        .build();
  }
}
