package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.load.SavedModelProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

/**
 * Writes a loaded SavedModel, its MetaGraphDef replaced by one with a {@value SignatureLayout#KEY}
 * signature (or by itself, for a plain copy), into a new directory: the SavedModel protocol buffer,
 * the session's current variable values through the model's own saver, and the directory's other
 * files.
 */
public final class RegularizedCopy {
  private RegularizedCopy() {}

  /**
   * Writes the copy into the empty directory {@code target}.
   *
   * @param source the directory the model was loaded from (read only)
   * @param savedModel its parsed {@code saved_model.pb}
   * @param metaGraphIndex which MetaGraphDef {@code bundle} loaded
   * @param bundle the loaded model, whose session holds the values to save
   * @param metaGraph the MetaGraphDef to write in its place
   * @param target the empty directory to write into
   * @throws SavedModelException naming {@code source} if TensorFlow cannot save the variables
   * @throws IOException if a file cannot be written
   */
  public static void write(
      Path source,
      SavedModel savedModel,
      int metaGraphIndex,
      SavedModelBundle bundle,
      MetaGraphDef metaGraph,
      Path target)
      throws IOException {
    Path variables = Files.createDirectory(target.resolve(SavedModelProto.VARIABLES));
    try {
      // The model's own saver writes the same checkpoint keys as the input's (object-based ones
      // for TF2 models), so every loader restores the values as before.
      bundle.session().save(variables.resolve(SavedModelProto.VARIABLES).toString());
    } catch (TensorFlowException e) {
      throw new SavedModelException(
          source + ": TensorFlow cannot save the variables: " + SavedModelException.firstLine(e),
          e);
    }
    SavedModel written = savedModel.toBuilder().setMetaGraphs(metaGraphIndex, metaGraph).build();
    try (OutputStream file =
        Files.newOutputStream(target.resolve(SavedModelProto.SAVED_MODEL_PB))) {
      written.writeTo(file);
    }
    ModelFiles.copyOthers(source, target);
  }
}
