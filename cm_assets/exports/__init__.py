"""GIS exports of the warehouse (GeoPackage, FlatGeobuf, GeoJSON) for QGIS/ArcGIS/GDAL users."""
