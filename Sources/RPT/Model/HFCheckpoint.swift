// Loading a Hugging Face checkpoint directory: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json (`weight_map`: tensor name → shard file). F32, F16 and BF16 tensors are
// converted to Float32. Every expected tensor must be present with the config's shape; unknown tensors
// are an error (a checkpoint of another architecture should not load silently). All of that is checked on the
// headers before the weights are allocated, and a NaN or infinite weight is refused naming its tensor.

import Foundation

extension Model {
    static func loadHFDirectory(_ dir: String) throws -> Model {
        let configPath = (dir as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw RPTError("missing config.json in model directory", file: dir)
        }
        let config = try ModelConfig.load(path: configPath)   // every size within ModelLimits
        let layout = ModelLayout(config: config)               // names and shapes only: nothing large yet
        let files = try shardFiles(dir)
        let owner = try tensorOwners(files)
        // Every tensor the config implies must be in the shards, as floats of the config's shape, and nothing else
        // may be: checked on the safetensors headers alone, so the parameter count the config implies is the one
        // the files hold before a byte is allocated.
        var sources: [(spec: ParameterSpec, file: SafeTensorsFile)] = []
        for spec in layout.specs {
            guard let f = owner[spec.name] else {
                throw RPTError("missing tensor '\(spec.name)' required by config.json (\(config.family.rawValue))", file: files.count == 1 ? files[0].path : dir)
            }
            try f.checkFloatTensor(spec.name, shape: spec.shape)
            sources.append((spec, f))
        }
        let expected = Set(layout.specs.map(\.name))
        for (name, f) in owner.sorted(by: { $0.key < $1.key }) where !expected.contains(name) {
            if name.hasSuffix("rotary_emb.inv_freq") { continue }        // buffer saved by old transformers versions
            if name == "lm_head.weight", config.tiedEmbeddings { continue } // redundant copy of the tied embedding
            throw RPTError("unexpected tensor '\(RPTError.echo(name))' not used by a \(config.family.rawValue) with this config", file: f.path)
        }
        try checkAllocation(config: config, file: configPath)
        let model = Model(config: config)     // the same layout: built from the same config
        for (spec, f) in sources {
            let values = model.params.base + spec.offset
            try f.readFloats(spec.name, into: values, expectedShape: spec.shape)
            // NaN/±Inf (also a finite F64 beyond Float32's range) would make every output NaN.
            try requireFinite(values, count: spec.count, label: "tensor '\(spec.name)'", file: f.path)
        }
        return model
    }

    /// Tensor name → the shard that holds it; a name in two shards is an error.
    private static func tensorOwners(_ files: [SafeTensorsFile]) throws -> [String: SafeTensorsFile] {
        var owner: [String: SafeTensorsFile] = [:]
        for f in files {
            for name in f.tensors.keys.sorted() {
                if owner[name] != nil { throw RPTError("tensor '\(RPTError.echo(name))' appears in more than one shard", file: f.path) }
                owner[name] = f
            }
        }
        return owner
    }

    private static func shardFiles(_ dir: String) throws -> [SafeTensorsFile] {
        let single = (dir as NSString).appendingPathComponent("model.safetensors")
        let index = (dir as NSString).appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: single) { return [try SafeTensorsFile(path: single)] }
        guard FileManager.default.fileExists(atPath: index) else {
            throw RPTError("no model.safetensors or model.safetensors.index.json in model directory", file: dir)
        }
        let json = try JSON.load(path: index)
        guard let map = json["weight_map"]?.object else { throw RPTError("missing or invalid 'weight_map'", file: index) }
        var names = Set<String>()
        for (tensor, v) in map {
            guard let file = v.string, !file.contains("/"), !file.isEmpty else {
                throw RPTError("weight_map['\(RPTError.echo(tensor))'] must be a file name in the same directory", file: index)
            }
            names.insert(file)
        }
        var byName: [String: SafeTensorsFile] = [:]
        for name in names.sorted() { byName[name] = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent(name)) }
        // The index must agree with the shards it names.
        for (tensor, v) in map {
            let name = v.string ?? ""    // a string: checked above
            guard byName[name]?.tensors[tensor] != nil else {
                throw RPTError("index says tensor '\(RPTError.echo(tensor))' is in \(name), but that shard does not contain it", file: index)
            }
        }
        return names.sorted().compactMap { byName[$0] }
    }
}
