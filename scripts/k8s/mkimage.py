#!/usr/bin/env python3
"""mkimage.py ROOTFS_DIR OUT.tar NAME[,NAME2...] [--entrypoint JSON] [--cmd JSON] [--env K=V]...
Writes a single-layer docker-archive (docker save format) that `ctr images import` accepts.
From the recorded bring-up (../shared/reference/k8s-local/scripts/mkimage.py), unchanged; the
project passes no --registry (no pull-only registry: scripts/k8s/build.sh says why)."""
import argparse, hashlib, io, json, os, tarfile, time
ap = argparse.ArgumentParser()
ap.add_argument("rootfs"); ap.add_argument("out"); ap.add_argument("names")
ap.add_argument("--entrypoint", default=None); ap.add_argument("--cmd", default=None)
ap.add_argument("--env", action="append", default=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
ap.add_argument("--workdir", default="/")
ap.add_argument("--registry", default=None)
a = ap.parse_args()
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    def filt(ti):
        ti.uid = ti.gid = 0; ti.uname = ti.gname = "root"; ti.mtime = 0
        return ti
    for entry in sorted(os.listdir(a.rootfs)):
        t.add(os.path.join(a.rootfs, entry), arcname=entry, filter=filt)
lb = layer.getvalue()
ldig = hashlib.sha256(lb).hexdigest()
cfg = {"architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
       "config": {"Env": a.env, "WorkingDir": a.workdir},
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + ldig]},
       "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "mkimage.py"}]}
if a.entrypoint: cfg["config"]["Entrypoint"] = json.loads(a.entrypoint)
if a.cmd: cfg["config"]["Cmd"] = json.loads(a.cmd)
cb = json.dumps(cfg).encode(); cdig = hashlib.sha256(cb).hexdigest()
man = [{"Config": cdig + ".json", "RepoTags": a.names.split(","), "Layers": [ldig + "/layer.tar"]}]
with tarfile.open(a.out, "w") as t:
    def put(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = int(time.time()); t.addfile(ti, io.BytesIO(data))
    put(ldig + "/layer.tar", lb); put(cdig + ".json", cb); put("manifest.json", json.dumps(man).encode())
print(a.out, "layer", len(lb), "bytes")

if a.registry:
    bd = os.path.join(a.registry, "blobs", "sha256"); os.makedirs(bd, exist_ok=True)
    def blob(data):
        d = hashlib.sha256(data).hexdigest(); open(os.path.join(bd, d), "wb").write(data); return "sha256:" + d
    mf = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(cb), "size": len(cb)},
          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blob(lb), "size": len(lb)}]}
    md = blob(json.dumps(mf).encode())
    for n in a.names.split(","):
        ref, tag = (n.rsplit(":", 1) + ["latest"])[:2] if ":" in n.split("/")[-1] else (n, "latest")
        host, _, repo = ref.partition("/")
        if "." not in host and ":" not in host: host, repo = "docker.io", ref
        if host == "docker.io" and "/" not in repo: repo = "library/" + repo
        td = os.path.join(a.registry, "tags", repo); os.makedirs(td, exist_ok=True)
        open(os.path.join(td, tag), "w").write(md)
        print("registry:", host, repo, tag, md)
